"""Crash and resume: a client process is killed with SIGKILL (``crash_child.py``), then ``wan26 jobs resume`` runs.

Fixed points (before the POST, between the POST and the journal update, mid-wait, mid-download) are reached
deterministically: the child kills itself there. Random points: the parent kills a child running several jobs after a
random delay. After each kill, and again after the resume, the mock's job list is compared with the client's journal:

- every job the mock accepted is journaled: by its id, or — when the process died between sending the submit and
  journaling its answer — as a submit whose outcome is unknown (the journal keeps its request and fingerprint);
- ``wan26 jobs resume`` follows every job with an id to its end and downloads it, and marks the others ``unknown``
  (exit 1, telling the user to check the provider's dashboard); it also downloads the video of every job that
  finished while its download was killed, to the path the killed process wanted (journaled when the job was
  accepted), removing the killed download's temporary file; ``wan26 jobs download`` remains for a job killed in
  the instant between its acceptance and the journaling of that path;
- no file under a final name is partial: every visible file is the whole video (size and MP4 header), and no
  temporary file outlives the resume of its target.

Bounded: each fixed point once (on rotating providers) and 1 random kill. Full (``WAN26_SUITE=full``): every fixed
point on every provider and 40 random kills of 4 jobs each.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

import pytest
from relykit import CANARY, FULL, PROVIDERS, admin_list, marker_of, report

from support import builtin_registry
from wan26_mock.serve import MockServer, running_server
from wan26core._journal import JobRecord, Journal
from wan26core.cli import main

CHILD = Path(__file__).with_name("crash_child.py")
FIXED = ("before_post", "after_post", "mid_wait", "mid_download")
CASES = list(product(FIXED, PROVIDERS)) if FULL else list(zip(FIXED, PROVIDERS[1:] + PROVIDERS[:1], strict=True))
RANDOM_RUNS = 40 if FULL else 1
RANDOM_JOBS = 4
KILL_WINDOW_S = 1.6  # a job takes about a second on the fast profile, then its download


@dataclass
class Crash:
    point: str
    provider: str
    first: int
    count: int
    folder: Path
    returncode: int = 0
    output: str = ""

    @property
    def journal(self) -> Path:
        return self.folder / "journal.sqlite3"

    @property
    def numbers(self) -> range:
        return range(self.first, self.first + self.count)


@pytest.fixture(scope="module")
def mock() -> Iterator[MockServer]:
    with running_server(builtin_registry(), seed=23, profile="fast") as server:
        yield server


def key_env(provider: str) -> str:
    return str(builtin_registry().get(provider).contract.transport["auth"]["env"][0])


def crash(case: Crash, base_url: str, rng: random.Random) -> Crash:
    """Run the child until it dies (killed at its point, or by us after a random delay)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAN26_")}
    env[key_env(case.provider)] = CANARY
    argv = [sys.executable, str(CHILD), case.point, case.provider, base_url, str(case.journal), str(case.folder / "out")]
    child = subprocess.Popen(
        [*argv, str(case.first), str(case.count)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True
    )
    assert child.stdout is not None
    if case.point == "random":
        ready = child.stdout.readline()
        assert ready.strip() == "ready", ready + child.stdout.read()
        time.sleep(rng.uniform(0, KILL_WINDOW_S))
        child.send_signal(signal.SIGKILL)
    case.output = child.communicate(timeout=60)[0]
    case.returncode = child.returncode
    return case


def by_number(records: list[JobRecord]) -> dict[int, JobRecord]:
    numbered = {marker_of(r.wire): r for r in records}
    assert len(numbered) == len(records), "one journal record per job"
    return {n: r for n, r in numbered.items() if n is not None}


def complete_files(folder: Path, sizes: set[int]) -> tuple[int, int]:
    """(complete videos, hidden temporary files) under ``folder``; fails on a partial file under a final name
    (``sizes``: those of the mock's videos)."""
    complete = temporary = 0
    for path in folder.rglob("*"):
        if not path.is_file() or path.suffix == ".sqlite3" or ".sqlite3-" in path.name:
            continue
        if path.name.startswith(".") and ".part-" in path.name:
            temporary += 1
            continue
        data = path.read_bytes()
        assert data[4:8] == b"ftyp" and len(data) in sizes, f"{path} is not a whole video ({len(data)} bytes; {sizes})"
        complete += 1
    return complete, temporary


def check(case: Crash, mock: MockServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    assert CANARY not in case.output
    if case.point != "random":
        assert case.returncode == -signal.SIGKILL, case.output
    else:
        assert case.returncode in (0, -signal.SIGKILL), case.output
    jobs = admin_list(mock.admin_url, "/jobs", "jobs")
    held: dict[int, Any] = {n: j for j in jobs if (n := marker_of(j["wire"])) is not None and n in case.numbers}
    before = by_number(Journal(case.journal).list()) if case.journal.exists() else {}
    # killed: every job the mock holds is journaled, by its id or as a submit whose answer never got journaled
    for number, job in held.items():
        record = before.get(number)
        assert record is not None, f"{case.point}: the mock holds job {number} ({job['id']}) and the journal has nothing"
        assert record.remote_id == job["id"] or (record.remote_id is None and record.phase in ("intent", "unknown")), record
    unknown = {n for n, r in before.items() if r.remote_id is None and r.phase in ("intent", "unknown")}

    monkeypatch.setenv(key_env(case.provider), CANARY)
    capsys.readouterr()
    code = main(["jobs", "resume", "--journal", str(case.journal), "-d", str(case.folder / "resumed"), "--timeout", "30"])
    resumed = capsys.readouterr()
    assert CANARY not in resumed.out + resumed.err
    assert code == (1 if unknown else 0), resumed.out + resumed.err
    after = by_number(Journal(case.journal).list()) if case.journal.exists() else {}
    fetched = completed = 0
    for number, record in after.items():
        if number in unknown:
            assert record.phase == "unknown" and "dashboard" in resumed.out, (record, resumed.out)
            continue
        assert record.phase == "succeeded" and record.remote_id == held[number]["id"], record
        wanted = case.folder / "out" / f"job-{number}.mp4"
        killed = before.get(number)
        if killed is not None and killed.download_pending:  # finished, its download killed: resume fetched it
            assert record.output_path == str(wanted) and wanted.is_file(), (record, resumed.out)
            assert "succeeded earlier, its download did not complete" in resumed.out, resumed.out  # fetched, or found whole
            completed += 1
        if record.output_path is None:  # killed before even its wanted path was journaled: fetched on demand
            assert record.wanted_output is None, record
            target = case.folder / "fetched" / f"job-{number}.mp4"
            assert main(["jobs", "download", record.id, "--journal", str(case.journal), "-o", str(target)]) == 0
            fetched += 1
    recovered = by_number(Journal(case.journal).list()) if case.journal.exists() else {}
    assert all(r.output_path and Path(r.output_path).is_file() for n, r in recovered.items() if n not in unknown)
    sizes = {job["video"]["file_size"] for job in admin_list(mock.admin_url, "/jobs", "jobs") if job["video"]}
    complete, temporary = complete_files(case.folder, sizes)
    assert complete == len(recovered) - len(unknown)
    # per point, what the kill left behind
    if case.point == "before_post":
        assert unknown == set(case.numbers) and not held  # it never left; the journal cannot know, so: unknown
    elif case.point == "after_post":
        assert unknown == set(held) == set(case.numbers)  # it reached the provider; the id died with the process
    elif case.point in ("mid_wait", "mid_download"):
        assert not unknown and set(held) == set(case.numbers)
    if case.point == "mid_download":  # killed before the rename: resume downloads it under the final name
        assert completed == 1 and fetched == 0, resumed.out
        assert temporary == 0  # and removes the killed download's hidden temporary file (its writer is gone)
    assert temporary == 0
    assert CANARY.encode() not in b"".join(p.read_bytes() for p in case.folder.glob("journal.sqlite3*"))
    phases = Counter(r.phase + ("+file" if r.output_path else "") for r in before.values())
    return {
        "point": case.point,
        "held": len(held),
        "recovered": len(set(held) - unknown),
        "reached_unknown": len(set(held) & unknown),
        "unknown": len(unknown),
        "fetched": fetched,
        "completed": completed,
        "temporary": temporary,
        "phases": phases,
    }


def test_kill_9_at_every_point_then_resume_recovers_every_job_with_an_id(
    mock: MockServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(7)
    cases = [Crash(point, provider, 100 * i, 1, tmp_path / f"fixed-{i}") for i, (point, provider) in enumerate(CASES)]
    cases += [
        Crash("random", PROVIDERS[i % len(PROVIDERS)], 10_000 + 100 * i, RANDOM_JOBS, tmp_path / f"random-{i}")
        for i in range(RANDOM_RUNS)
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = list(pool.map(lambda c: crash(c, mock.base_url, random.Random(rng.random())), cases))
    figures = [check(case, mock, capsys, monkeypatch) for case in done]
    totals, phases = Counter[str](), Counter[str]()
    for f in figures:
        totals.update({k: v for k, v in f.items() if isinstance(v, int)})
        phases.update(f["phases"])
    report(
        "crash_resume",
        {
            "runs": len(figures),
            "kill_points": dict(Counter(f["point"] for f in figures)),
            "journal_phases_at_kill": dict(sorted(phases.items())),
            "jobs_reached_provider": totals["held"],
            "recovered": totals["recovered"],  # followed to the end by `jobs resume` (and `jobs download`)
            "reached_unknown": totals["reached_unknown"],  # killed between the POST and journaling its answer
            "unknown_flagged": totals["unknown"],
            "downloads_completed_by_resume": totals["completed"],  # killed mid-download, finished by `jobs resume`
            "downloads_fetched_after_kill": totals["fetched"],  # by `jobs download` (no wanted path journaled)
            "temporary_files_left": totals["temporary"],
            "lost": 0,  # asserted above, run by run
        },
    )
