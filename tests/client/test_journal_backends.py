"""The journal's suite over both backends: the backend-neutral tests of test_journal.py run here again, with their
``journal`` (and ``shared_journal``) fixtures made by SQLite and by PostgreSQL; then what only the PostgreSQL backend
has to show (a server that is not there, a newer schema, secrets, several processes) and what both share (leases,
idempotency keys, ``jobs list`` filters, ``jobs migrate``). The SQLite-only tests stay in test_journal.py, unchanged."""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from test_journal import (  # the backend-neutral tests, collected here once per backend
    CANARY,
    REQUEST,
    URLS,
    WIRE,
    Clock,
    test_a_job_moves_through_its_phases_and_every_change_is_an_event,
    test_any_call_sequence_gives_the_last_state_and_one_event_per_change,
    test_list_is_newest_first_and_filters,
    test_lookup_by_prefix_remote_id_and_clear_errors,
    test_rejected_and_unknown_submits,
    test_the_wanted_output_is_journaled_and_pending_until_the_download_is,
    test_threads_share_one_journal,
)

import pgkit
from wan26core._journal import Journal, JournalError, open_journal
from wan26core._journal_base import JournalBase
from wan26core._journal_lease import Lease
from wan26core._journal_pg_schema import PG_SCHEMA_VERSION
from wan26core._journal_postgres import PostgresJournal
from wan26core.cli import main

__all__ = [
    "test_a_job_moves_through_its_phases_and_every_change_is_an_event",
    "test_any_call_sequence_gives_the_last_state_and_one_event_per_change",
    "test_list_is_newest_first_and_filters",
    "test_lookup_by_prefix_remote_id_and_clear_errors",
    "test_rejected_and_unknown_submits",
    "test_the_wanted_output_is_journaled_and_pending_until_the_download_is",
    "test_threads_share_one_journal",
]

BACKENDS = ("sqlite", "postgres")


def _open(backend: str, request: pytest.FixtureRequest, tmp_path: Path, **options: Any) -> JournalBase:
    if backend == "sqlite":
        return Journal(tmp_path / "j" / "journal.sqlite3", **options)
    return PostgresJournal(request.getfixturevalue("postgres_url"), **options)


@pytest.fixture(params=BACKENDS)
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JournalBase]:
    with _open(request.param, request, tmp_path, clock=Clock()) as j:
        yield j


@pytest.fixture(scope="module", params=BACKENDS)
def shared_journal(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JournalBase]:
    if request.param == "sqlite":
        with Journal(tmp_path_factory.mktemp("property") / "journal.sqlite3") as j:
            yield j
        return
    with pgkit.schema(request.getfixturevalue("postgres_database")) as url, PostgresJournal(url) as j:
        yield j


# --- PostgreSQL only ---------------------------------------------------------------------------------------


def test_an_unreachable_server_is_one_clear_line_without_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://wan26:{CANARY}@127.0.0.1:{port}/jobs"
    with pytest.raises(JournalError, match=f"cannot reach the PostgreSQL journal at postgresql://.*127.0.0.1:{port}/jobs: "):
        PostgresJournal(url)
    assert main(["jobs", "list", "--journal", url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot reach the PostgreSQL journal" in err and CANARY not in err, err


def test_a_newer_schema_is_refused_in_one_line(postgres_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    PostgresJournal(postgres_url).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("INSERT INTO wan26_schema (version, applied_at) VALUES (%s, now())", (PG_SCHEMA_VERSION + 1,))
    with pytest.raises(JournalError, match=f"schema version {PG_SCHEMA_VERSION + 1}, newer than this wan26"):
        PostgresJournal(postgres_url)
    assert main(["jobs", "list", "--journal", postgres_url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "upgrade wan26" in err, err


def test_migrations_run_once_when_workers_start_together(postgres_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_open_close, args=(postgres_url,)) for _ in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [proc.exitcode for proc in procs] == [0] * 4
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT version FROM wan26_schema").fetchall() == [(v,) for v in range(1, PG_SCHEMA_VERSION + 1)]


def _open_close(url: str) -> None:
    PostgresJournal(url).close()


def test_a_canary_secret_never_reaches_the_database(postgres_url: str) -> None:
    with PostgresJournal(postgres_url) as journal:
        rec = journal.record_intent(
            "fal/r2v",
            {**REQUEST, "api_key": CANARY},
            {**WIRE, "headers": {"Authorization": f"Key {CANARY}"}},
            base_url=f"https://user:{CANARY}@queue.fal.run/",
        )
        journal.record_submitted(rec.id, "r1", {"status": f"https://queue.fal.run/r1/status?api_key={CANARY}"})
        journal.record_status(rec.id, "failed", error={"code": "bad", "token": CANARY})
        journal.record_intent_once(f"key-{CANARY}", "fal/r2v", REQUEST, WIRE)  # a key is stored as its hash
        assert CANARY not in repr(journal) and CANARY not in journal.location
    with psycopg.connect(postgres_url) as conn:
        for table in ("jobs", "events", "idempotency", "leases"):
            dump = json.dumps(conn.execute(f"SELECT * FROM {table}").fetchall(), default=str)  # type: ignore[arg-type]
            assert CANARY not in dump, table


def _write_jobs(url: str, tag: str, count: int) -> None:
    with PostgresJournal(url) as journal:
        for i in range(count):
            rec = journal.record_intent("fal/r2v", {"prompt": f"{tag}-{i}"}, {"prompt": f"{tag}-{i}"}, label=tag)
            journal.record_submitted(rec.id, f"{tag}-{i}", {})
            journal.record_status(rec.id, "queued", queue_position=i)


def test_processes_write_at_once(postgres_url: str) -> None:
    PostgresJournal(postgres_url).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_jobs, args=(postgres_url, tag, 100)) for tag in "abc"]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [proc.exitcode for proc in procs] == [0, 0, 0]
    with PostgresJournal(postgres_url) as journal:
        records = journal.list()
        assert {r.remote_id for r in records} == {f"{t}-{i}" for t in "abc" for i in range(100)}
        assert all(r.phase == "queued" and len(journal.events(r.id)) == 3 for r in records[:20])


# --- both backends ------------------------------------------------------------------------------------------


def test_a_lease_is_exclusive_renewed_released_and_expires(journal: JournalBase) -> None:
    rec = journal.record_intent("fal/r2v", REQUEST, WIRE)
    assert journal.claim(rec.id, "a", 30) and journal.claim(rec.id, "a", 30)  # renewing one's own
    assert not journal.claim(rec.id, "b", 30) and journal.lease_holder(rec.id) == "a"
    journal.release(rec.id, "b")  # not b's to release
    assert journal.lease_holder(rec.id) == "a"
    journal.release(rec.id, "a")
    assert journal.lease_holder(rec.id) is None and journal.claim(rec.id, "b", 0.3)
    assert not journal.claim(rec.id, "a", 30)
    time.sleep(0.5)  # b died without releasing: its lease runs out
    assert journal.lease_holder(rec.id) is None and journal.claim(rec.id, "a", 30)
    with pytest.raises(ValueError, match="above 0"):
        journal.claim(rec.id, "a", 0)
    with pytest.raises(KeyError):
        journal.claim("f" * 32, "a", 30)


def test_a_lease_is_renewed_while_its_holder_works(journal: JournalBase) -> None:
    rec = journal.record_intent("fal/r2v", REQUEST, WIRE)
    with Lease(journal, rec.id, holder="worker-1", ttl=0.6) as lease:
        assert lease.held
        time.sleep(1.5)  # well past the lease's life: only the renewals keep it
        assert not journal.claim(rec.id, "worker-2", 30) and journal.lease_holder(rec.id) == "worker-1"
        with Lease(journal, rec.id, holder="worker-2") as other:
            assert not other.held
    assert journal.lease_holder(rec.id) is None and not lease.lost  # released at the end


def test_an_idempotency_key_answers_with_the_first_job(journal: JournalBase) -> None:
    first, new = journal.record_intent_once("order-7", "fal/r2v", REQUEST, WIRE)
    assert new
    again, new = journal.record_intent_once("order-7", "fal/r2v", REQUEST, WIRE)
    assert not new and again.id == first.id  # unfinished: the same job
    journal.record_submitted(first.id, "r1", URLS)
    journal.record_status(first.id, "succeeded", result={"url": "https://x/v.mp4"})
    within, new = journal.record_intent_once("order-7", "fal/r2v", REQUEST, WIRE, window=3600)
    assert not new and within.id == first.id and within.remote_id == "r1"  # finished within the window
    later, new = journal.record_intent_once("order-7", "fal/r2v", REQUEST, WIRE, window=0)
    assert new and later.id != first.id  # finished, and the window is over: a new job, and the key now names it
    journal.record_rejected(later.id, {"message": "no"})
    retry, new = journal.record_intent_once("order-7", "fal/r2v", REQUEST, WIRE)
    assert new and retry.id not in (first.id, later.id)  # a refused submit was never paid: it does not count
    _other, new = journal.record_intent_once("order-8", "fal/r2v", REQUEST, WIRE)
    assert new and len(journal.list()) == 4
    with pytest.raises(ValueError, match="non-empty"):
        journal.record_intent_once("", "fal/r2v", REQUEST, WIRE)


@pytest.mark.parametrize("backend", BACKENDS)
def test_jobs_list_filters_alike(backend: str, request: pytest.FixtureRequest, tmp_path: Path, capsys: Any) -> None:
    target = str(tmp_path / "j.sqlite3") if backend == "sqlite" else request.getfixturevalue("postgres_url")
    with open_journal(target) as journal:
        jobs = [journal.record_intent("fal/r2v" if i % 2 else "vtrix/r2v", REQUEST, WIRE, label=f"n{i}") for i in range(6)]
        journal.record_submitted(jobs[1].id, "r1", {})
        journal.record_status(jobs[1].id, "succeeded", result={"url": "https://x/v.mp4"})
        journal.record_wanted_output(jobs[1].id, tmp_path / "v.mp4")  # succeeded, download pending: unfinished too
        journal.record_submitted(jobs[3].id, "r3", {})
        journal.record_status(jobs[3].id, "succeeded")
        journal.record_rejected(jobs[0].id, {"message": "no"})
    seen = {}
    for flags in ([], ["--unfinished"], ["-p", "fal/r2v"], ["--unfinished", "-p", "fal/r2v"], ["--limit", "2"]):
        assert main(["jobs", "list", "--journal", target, "--json", *flags]) == 0
        seen[" ".join(flags)] = [r["label"] for r in json.loads(capsys.readouterr().out)]
    assert seen == {
        "": ["n5", "n4", "n3", "n2", "n1", "n0"],
        "--unfinished": ["n5", "n4", "n2", "n1"],
        "-p fal/r2v": ["n5", "n3", "n1"],
        "--unfinished -p fal/r2v": ["n5", "n1"],
        "--limit 2": ["n5", "n4"],
    }


def test_jobs_migrate_copies_a_file_into_postgres_once(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "journal.sqlite3"
    with Journal(source) as journal:
        old = journal.record_intent("fal/r2v", REQUEST, WIRE, label="old")
        journal.record_submitted(old.id, "r1", URLS)
        journal.record_status(old.id, "running", progress=0.5)
        new = journal.record_intent("vtrix/r2v", REQUEST, WIRE, label="new", mock=True)
        before = {r.id: (r, journal.events(r.id)) for r in journal.list()}
    assert main(["jobs", "migrate", "--from", str(source), "--to", postgres_url]) == 0
    assert capsys.readouterr().out.startswith("copied 2 job(s) from ")
    with PostgresJournal(postgres_url) as target:
        assert [r.id for r in target.list()] == [new.id, old.id]
        for record in target.list():
            kept, events = before[record.id]
            assert record == kept
            assert [(e["kind"], e["phase"], e["changes"], e["at"]) for e in target.events(record.id)] == [
                (e["kind"], e["phase"], e["changes"], e["at"]) for e in events
            ]
    assert main(["jobs", "migrate", "--from", str(source), "--to", postgres_url]) == 0
    assert "copied 0 job(s)" in capsys.readouterr().out  # again: nothing doubled
    monkeypatch.setenv("WAN26_JOURNAL_URL", postgres_url)  # the default journal, by environment
    assert main(["jobs", "show", old.short_id]) == 0
    assert json.loads(capsys.readouterr().out)["job"]["label"] == "old"


def test_generate_with_an_idempotency_key_pays_once(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["generate", "@a waves", "--ref", "a=https://example.com/a.png", "-p", "fal/r2v-flash", "--mock"]
    assert main([*argv, "--idempotency-key", "shot-1", "-o", "one.mp4"]) == 0
    assert main([*argv, "--idempotency-key", "shot-1", "-o", "two.mp4"]) == 0  # the first job's video, again
    assert main([*argv, "--idempotency-key", "fingerprint", "-o", "three.mp4"]) == 0  # another key: another job
    capsys.readouterr()
    with Journal() as journal:
        jobs = journal.list()
    assert len(jobs) == 2 and all(j.phase == "succeeded" for j in jobs)
    assert Path("one.mp4").read_bytes() == Path("two.mp4").read_bytes()


def test_jobs_download_of_a_job_another_worker_holds_says_who(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["generate", "@a waves", "--ref", "a=https://example.com/a.png", "-p", "fal/r2v-flash", "--mock", "-o", "a.mp4"]
    assert main(argv) == 0
    with Journal() as journal:
        (job,) = journal.list()
        assert journal.claim(job.id, "other-host:4242:abcd", 30)
    capsys.readouterr()
    assert main(["jobs", "download", job.short_id, "-o", "b.mp4"]) != 0
    err = capsys.readouterr().err
    assert "another worker (other-host:4242:abcd)" in err and not Path("b.mp4").exists(), err
    with Journal() as journal:
        journal.release(job.id, "other-host:4242:abcd")
    assert main(["jobs", "download", job.short_id, "-o", "b.mp4"]) == 0 and Path("b.mp4").is_file()


def test_a_client_closes_the_postgres_journal_it_opened_and_only_that(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from wan26core import Client

    with Client("fal/r2v-flash", journal=postgres_url) as client:
        opened = client.journal
        assert isinstance(opened, PostgresJournal)
    with pytest.raises(JournalError, match="is closed"):
        opened.list()
    monkeypatch.setenv("WAN26_JOURNAL_URL", postgres_url)
    with PostgresJournal(postgres_url) as given:
        with Client("fal/r2v-flash", journal=given) as client:
            assert client.journal is given
        assert given.list() == []  # still open: the caller's to close
        with Client("fal/r2v-flash") as client:  # journal=True: $WAN26_JOURNAL_URL
            assert isinstance(client.journal, PostgresJournal) and client.journal.url == postgres_url


def test_claim_next_takes_the_oldest_free_job_that_needs_work(journal: JournalBase) -> None:
    jobs = [journal.record_intent("fal/r2v", REQUEST, WIRE) for _ in range(4)]
    ids = [j.id for j in jobs]
    journal.record_submitted(ids[0], "r0", {})
    journal.record_status(ids[0], "succeeded")  # done: no wanted download
    journal.record_submitted(ids[1], "r1", {})
    journal.record_status(ids[1], "succeeded")
    journal.record_wanted_output(ids[1], "/tmp/v1.mp4")  # succeeded, its download missing: needs work
    assert sorted(journal.not_done(ids)) == sorted(ids[1:])
    assert journal.claim(ids[2], "b", 30)
    assert journal.claim_next(ids, "a", 30) == ids[1]
    assert journal.claim_next(ids, "a", 30) == ids[1]  # still the oldest one a may work on: its own
    assert journal.claim_next([ids[0], ids[2], ids[3]], "a", 30) == ids[3]  # ids[2] is b's
    assert journal.claim_next([ids[0], ids[2]], "a", 30) is None
    journal.release(ids[2], "b")
    assert journal.claim_next([ids[0], ids[2]], "a", 30) == ids[2] and journal.lease_holder(ids[2]) == "a"
    journal.record_download(ids[1], "/tmp/v1.mp4")
    assert sorted(journal.not_done(ids)) == sorted(ids[2:])


def _intents(target: str, go: str, keys: int, found: Any) -> None:
    while not Path(go).exists():
        time.sleep(0.001)
    with open_journal(target) as journal:
        found.extend([journal.record_intent_once(f"key-{k}", "fal/r2v", REQUEST, WIRE)[1] for k in range(keys)])


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_key_makes_one_job_however_many_processes_race(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    target = str(tmp_path / "j.sqlite3") if backend == "sqlite" else request.getfixturevalue("postgres_url")
    open_journal(target).close()
    ctx = multiprocessing.get_context("spawn")
    go, keys = tmp_path / "go", 40
    with ctx.Manager() as manager:
        found = manager.list()
        procs = [ctx.Process(target=_intents, args=(target, str(go), keys, found)) for _ in range(4)]
        for proc in procs:
            proc.start()
        time.sleep(1.0)  # every racer imported and waiting
        go.touch()
        for proc in procs:
            proc.join(60)
        assert [proc.exitcode for proc in procs] == [0] * 4
        assert sum(found) == keys and len(found) == 4 * keys  # one new job per key; the other 3 got it back
    with open_journal(target) as journal:
        assert len(journal.list()) == keys
