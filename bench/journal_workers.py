"""8 worker processes x 250 jobs against the mock through one journal: PostgreSQL against SQLite, on one machine.

Starts the real mock in a process of its own (``--profile fast``: a job is queued 0.25 s and runs 0.75 s), then, for
each backend, 8 worker processes (this script with ``--child``), each with a home of its own as on separate machines.
Each worker submits its 250 jobs (``Client.submit`` with ``output=``: the journal records where each video goes) and
then runs ``wan26 jobs resume`` over the whole shared journal: the workers split every job between them under leases,
so each job is followed, fetched and downloaded by one worker. Reported per backend: wall time (first submit to the
last worker's exit), journal write transactions per job (counted in every worker: records, and leases taken, renewed,
released or refused) and, of those, the recorded changes (events) per job, duplicates
(jobs with more than one ``download`` event or ``result`` request at the mock: must be 0), lost jobs (submitted but
not downloaded to their file: must be 0).

PostgreSQL: ``--postgres-url`` (a database the bench may create databases in), else ``$WAN26_TEST_POSTGRES_URL``, else
a throw-away server started with ``.ci/postgres.sh`` (the PostgreSQL server binaries installed). ``--quick``: 8 x 25.
Exit 1 when a duplicate or a lost job is seen (unless ``--no-check``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from _common import HERE, PYTHON, emit, start_server, table

PROVIDER = "fal/r2v-flash"
REQUEST = {"prompt": "@cat waves", "references": [{"name": "cat", "source": "https://example.com/cat.mp4"}], "duration": 5}
WORKERS, FULL_JOBS, QUICK_JOBS = 8, 250, 25
CHILD_PREFIX = "WORKER_RESULT "
POSTGRES_SH = HERE.parent / ".ci" / "postgres.sh"


# --- a worker -----------------------------------------------------------------------------------------------------
def child(base_url: str, journal: str, out: Path, worker: int, jobs: int) -> None:
    """Submit ``jobs`` jobs, then resume the shared journal; print the journal writes this process made."""
    import wan26core._journal_postgres  # noqa: F401  # both backends' classes exist, to be counted
    from wan26core import Client
    from wan26core._journal_base import JournalBase
    from wan26core.cli import main

    writes = Counter[str]()
    for cls in JournalBase.__subclasses__():
        original = cls._write

        def counted(self: Any, _original: Any = original) -> Any:
            writes["write"] += 1
            return _original(self)

        cls._write = counted  # type: ignore[method-assign]
    began = time.monotonic()
    with Client(PROVIDER, api_key="mock-key", base_url=base_url, journal=journal) as client:
        ids = [client.submit({**REQUEST, "seed": worker * 10_000 + n}, output=out / f"w{worker}-{n}.mp4").id for n in range(jobs)]
        if client.journal is not None:
            client.journal.close()
    submitted = time.monotonic()
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        status = main(["jobs", "resume", "--journal", journal, "--timeout", "300"])
    times = {"submit_s": submitted - began, "resume_s": time.monotonic() - submitted}
    print(CHILD_PREFIX + json.dumps({"ids": ids, "writes": writes["write"], "status": status, **times}), flush=True)


# --- the run ------------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def postgres_server(url: str | None) -> Iterator[str]:
    url = url or os.environ.get("WAN26_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    started = subprocess.run(["bash", str(POSTGRES_SH), "start"], capture_output=True, text=True, check=False)
    if started.returncode != 0:
        raise SystemExit(f"no PostgreSQL server: give --postgres-url, or install the postgresql package\n{started.stderr}")
    env = dict(line.removeprefix("export ").split("=", 1) for line in started.stdout.splitlines() if "=" in line)
    try:
        yield env["WAN26_TEST_POSTGRES_URL"]
    finally:
        subprocess.run(["bash", str(POSTGRES_SH), "stop", env["WAN26_TEST_POSTGRES_DIR"]], env={**os.environ, **env}, check=False)


@contextlib.contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    import psycopg

    name = f"wan26_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    try:
        yield server_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]


def run(backend: str, journal: str, base_url: str, folder: Path, jobs: int) -> dict[str, Any]:
    from wan26core._journal import open_journal

    out = folder / "videos"
    out.mkdir(parents=True)
    httpx.post(f"{base_url}/__wan26__/reset", json={}, timeout=30).raise_for_status()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAN26_")}
    started = time.monotonic()
    procs = []
    for w in range(WORKERS):
        home = folder / f"home-{w}"
        argv = [PYTHON, __file__, "--child", base_url, journal, str(out), str(w), str(jobs)]
        worker_env = {**env, "HOME": str(home), "WAN26_HOME": str(home / "wan26"), "FAL_KEY": "mock-key"}
        procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=worker_env))
    outputs = [p.communicate()[0] for p in procs]
    wall = time.monotonic() - started
    reports = []
    for proc, text in zip(procs, outputs, strict=True):
        lines = [line for line in text.splitlines() if line.startswith(CHILD_PREFIX)]
        if proc.returncode != 0 or not lines:
            raise SystemExit(f"a {backend} worker failed (exit {proc.returncode}):\n{text[-3000:]}")
        reports.append(json.loads(lines[-1][len(CHILD_PREFIX) :]))
    submitted = [i for r in reports for i in r["ids"]]
    with open_journal(journal) as shared:
        records = {i: shared.get(i) for i in submitted}
        events = {i: shared.events(i) for i in submitted}
    downloads = {i: sum(e["kind"] == "download" for e in events[i]) for i in submitted}
    results = Counter[str]()
    after = 0
    while True:  # the mock's request journal, page after page: which job's result was fetched how often
        page = httpx.get(f"{base_url}/__wan26__/journal", params={"action": "result", "after": after, "limit": 1000}).json()
        results.update(e["job_id"] for e in page["entries"])
        if page["next_after"] is None:
            break
        after = page["next_after"]
    duplicates = sum(1 for i in submitted if downloads[i] > 1 or results[str(records[i].remote_id)] > 1)
    lost = sum(1 for r in records.values() if not (r.output_path and Path(r.output_path).is_file()))
    return {
        "backend": backend,
        "jobs": len(submitted),
        "wall_s": round(wall, 2),
        "writes_per_job": round(sum(r["writes"] for r in reports) / max(len(submitted), 1), 2),
        "events_per_job": round(sum(len(e) for e in events.values()) / max(len(submitted), 1), 2),
        "duplicates": duplicates,
        "lost": lost,
        "worker_status": max(r["status"] for r in reports),
        "submit_s": round(max(r["submit_s"] for r in reports), 2),  # the slowest worker's submits
        "resume_s": round(max(r["resume_s"] for r in reports), 2),  # and its resume
    }


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        base_url, journal, out, worker, jobs = sys.argv[2:7]
        child(base_url, journal, Path(out), int(worker), int(jobs))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{WORKERS} x {QUICK_JOBS} jobs instead of {WORKERS} x {FULL_JOBS}")
    parser.add_argument("--jobs", type=int, help="jobs per worker")
    parser.add_argument("--postgres-url", help="a PostgreSQL server the bench may create a database on")
    parser.add_argument("--no-check", action="store_true", help="exit 0 even when a job is duplicated or lost")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    jobs = args.jobs or (QUICK_JOBS if args.quick else FULL_JOBS)
    server = start_server("--seed", "1", "--profile", "fast")
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="wan26-bench-journal-") as tmp:
            folder = Path(tmp)
            rows.append(run("sqlite", str(folder / "journal.sqlite3"), server.base_url, folder / "sqlite", jobs))
            with postgres_server(args.postgres_url) as url, fresh_database(url) as database:
                rows.append(run("postgres", database, server.base_url, folder / "postgres", jobs))
    finally:
        server.stop()
    keys = ("backend", "jobs", "wall_s", "submit_s", "resume_s", "writes_per_job", "events_per_job", "duplicates", "lost")
    print(f"{WORKERS} workers x {jobs} jobs, {PROVIDER} on the mock (fast profile), one shared journal per backend")
    print(table([[str(r[k]) for k in keys] for r in rows], keys))
    emit({"bench": "journal_workers", "workers": WORKERS, "jobs_per_worker": jobs, "rows": rows})
    bad = any(r["duplicates"] or r["lost"] or r["worker_status"] for r in rows)
    return 1 if bad and not args.no_check else 0


if __name__ == "__main__":
    sys.exit(main())
