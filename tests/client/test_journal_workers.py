"""Many workers, one PostgreSQL journal, a real mock on loopback: separate processes with separate homes (as on
separate machines) resume the same jobs, one of them is killed with -9 while it holds a lease, and several submit
under one idempotency key at once. What must hold: every job is waited on, fetched and downloaded by one worker
(one ``result`` request at the mock, one ``download`` event in the journal, one whole file), none is lost, and one
key reaches the mock as one POST."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support import builtin_registry
from wan26_mock.serve import MockServer, running_server
from wan26core import Client
from wan26core._journal_postgres import PostgresJournal

PROVIDER = "fal/r2v-flash"
REQUEST = {"prompt": "@a waves", "references": [{"name": "a", "source": "https://example.com/a.png"}], "duration": 5}
JOBS = 12
WORKERS = 4


@pytest.fixture(scope="module")
def mock() -> Iterator[MockServer]:
    with running_server(builtin_registry(), seed=31, profile="fast") as server:
        yield server


def _env(home: Path, mock: MockServer, **extra: str) -> dict[str, str]:
    """A worker's environment: a home of its own, the mock's key, nothing of the test's WAN26_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAN26_")}
    home.mkdir(parents=True, exist_ok=True)
    return {**env, "HOME": str(home), "WAN26_HOME": str(home / "wan26"), "FAL_KEY": mock.env("fal")["FAL_KEY"], **extra}


def _actions(mock: MockServer, action: str) -> Counter[str]:
    entries = httpx.get(f"{mock.admin_url}/journal", params={"action": action, "limit": "1000"}, timeout=30).json()
    return Counter(e["job_id"] for e in entries["entries"])


def _submit(mock: MockServer, url: str, out: Path, count: int) -> list[str]:
    """Journal ``count`` accepted jobs, each wanting its video at ``out/job-N.mp4``, and follow none of them."""
    with Client(PROVIDER, api_key="mock-key", base_url=mock.base_url, journal=url) as client:
        return [client.submit({**REQUEST, "seed": n}, output=out / f"job-{n}.mp4").id for n in range(count)]


def _resume(home: Path, mock: MockServer, url: str, **extra: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "wan26core", "jobs", "resume", "--journal", url, "--timeout", "60"]
    env = _env(home, mock, **extra)
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def _check_once(url: str, ids: list[str], mock: MockServer, out: Path) -> None:
    with PostgresJournal(url) as journal:
        records = [journal.get(i) for i in ids]
        assert all(r.phase == "succeeded" and r.output_path == r.wanted_output for r in records), records
        downloads = [sum(e["kind"] == "download" for e in journal.events(r.id)) for r in records]
        remote = {r.remote_id for r in records}
    assert downloads == [1] * len(ids)  # each video recorded as written once
    results = _actions(mock, "result")
    assert {job: results[job] for job in remote} == dict.fromkeys(remote, 1)  # each fetched by one worker only
    files = sorted(out.iterdir())
    assert len(files) == len(ids) and all(f.read_bytes()[4:8] == b"ftyp" for f in files), files  # no temporaries left


def test_workers_sharing_a_journal_resume_each_job_once(mock: MockServer, postgres_url: str, tmp_path: Path) -> None:
    out = tmp_path / "videos"
    ids = _submit(mock, postgres_url, out, JOBS)
    workers = [_resume(tmp_path / f"worker-{n}", mock, postgres_url) for n in range(WORKERS)]
    outputs = [w.communicate(timeout=120)[0] for w in workers]
    assert [w.returncode for w in workers] == [0] * WORKERS, outputs
    _check_once(postgres_url, ids, mock, out)
    done = [o.count("succeeded") for o in outputs]
    assert sum(done) == JOBS, outputs  # every job reported once, by the worker that did it
    assert all(f"{i[:8]}" in "".join(outputs) for i in ids)


def test_a_worker_killed_holding_a_lease_loses_it_and_another_finishes_the_job(
    mock: MockServer, postgres_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "videos"
    (job,) = _submit(mock, postgres_url, out, 1)
    lease = {"WAN26_LEASE_SECONDS": "2"}  # a short lease: the test waits for its expiry
    first = _resume(tmp_path / "first", mock, postgres_url, **lease)
    with PostgresJournal(postgres_url) as journal:
        deadline = time.monotonic() + 30
        while (holder := journal.lease_holder(job)) is None:
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()[0]
            time.sleep(0.01)
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
        assert first.returncode == -signal.SIGKILL
        assert journal.lease_holder(job) == holder  # it died holding the lease
        assert journal.get(job).output_path is None
        started = time.monotonic()
        second = _resume(tmp_path / "second", mock, postgres_url, **lease)
        said = second.communicate(timeout=60)[0]
        assert second.returncode == 0, said
        assert "held by other workers" in said and "succeeded" in said, said  # it waited for the lease to run out
        assert time.monotonic() - started < 20
        assert journal.lease_holder(job) is None  # released at the end
    record_out = out / "job-0.mp4"
    assert record_out.is_file()
    with PostgresJournal(postgres_url) as journal:
        assert [e["kind"] for e in journal.events(job)].count("download") == 1


RACER = """
import json, os, sys, time
from wan26core import Client
with Client(sys.argv[1], api_key="mock-key", base_url=sys.argv[2], journal=sys.argv[3]) as client:
    print("ready", flush=True)
    while not os.path.exists(sys.argv[6]):  # every racer set up: go at once
        time.sleep(0.001)
    job = client.submit(json.loads(sys.argv[4]), idempotency_key=sys.argv[5])
print(json.dumps([job.id, job.remote_id]))
"""


def test_submits_racing_on_one_idempotency_key_reach_the_mock_once(mock: MockServer, postgres_url: str, tmp_path: Path) -> None:
    PostgresJournal(postgres_url).close()  # the schema exists: the racers race on the key, not on the migration
    request = {**REQUEST, "prompt": "@a waves once, whoever asks"}
    before = sum(_actions(mock, "submit").values())
    go = tmp_path / "go"
    argv = [sys.executable, "-c", RACER, PROVIDER, mock.base_url, postgres_url, json.dumps(request), "order-42", str(go)]
    racers = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tmp_path / f"r{n}", mock))
        for n in range(WORKERS)
    ]
    for racer in racers:
        assert racer.stdout is not None and racer.stdout.readline() == "ready\n"
    go.touch()
    answers = [r.communicate(timeout=120) for r in racers]
    assert [r.returncode for r in racers] == [0] * WORKERS, answers
    jobs = {tuple(json.loads(o)) for o, _ in answers}
    assert len(jobs) == 1, jobs  # one job, the same local and remote id for every racer
    assert sum(_actions(mock, "submit").values()) - before == 1  # one POST reached the mock
    with PostgresJournal(postgres_url) as journal:
        assert len(journal.list()) == 1
    # with the request's fingerprint as the key: the same request is the same job, another request is another
    with Client(PROVIDER, api_key="mock-key", base_url=mock.base_url, journal=postgres_url) as client:
        a = client.submit(request, idempotency_key=True)
        b = client.submit(request, idempotency_key=True)
        c = client.submit({**request, "seed": 9}, idempotency_key=True)
    assert a.id == b.id != c.id and a.id != jobs.pop()[0]
    assert sum(_actions(mock, "submit").values()) - before == 3


def test_a_repeated_key_waits_for_the_first_answer_and_never_resends_an_unknown_one(mock: MockServer, postgres_url: str) -> None:
    import threading

    from wan26core import SubmitUncertainError

    before = sum(_actions(mock, "submit").values())
    with Client(PROVIDER, api_key="mock-key", base_url=mock.base_url, journal=postgres_url) as client:
        assert client.journal is not None
        first, _ = client.journal.record_intent_once("in-flight", PROVIDER, REQUEST, {})  # another worker's POST, unanswered
        answer = threading.Timer(0.5, client.journal.record_submitted, (first.id, "remote-1", {"status": "x"}))
        answer.start()
        job = client.submit(REQUEST, idempotency_key="in-flight")  # waits for that answer instead of sending its own
        answer.join()
        assert (job.id, job.remote_id) == (first.id, "remote-1")
        lost, _ = client.journal.record_intent_once("lost-answer", PROVIDER, REQUEST, {})
        client.journal.record_unknown(lost.id, "read timeout after sending")
        with pytest.raises(SubmitUncertainError, match="may have reached the provider"):
            client.submit(REQUEST, idempotency_key="lost-answer")
    assert sum(_actions(mock, "submit").values()) == before  # neither sent anything
