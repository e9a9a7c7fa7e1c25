"""What an outside break-test of the PostgreSQL journal found (items 2, 4, 6, 7, 8 and 9 of its write-up), each shown
fixed: ``jobs migrate`` carries idempotency keys over and names the journal an error is about, and only reads its
source; an idempotency key answers only the request it was given to; a blank or non-UTF-8 key and a huge ``--limit``
are usage errors; a ``--provider`` filter that matches nothing says so."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import psycopg
import pytest
from test_journal import REQUEST, URLS, WIRE, Clock
from test_journal_backends import BACKENDS, _open

from wan26core._journal import Journal, open_journal
from wan26core._journal_base import IdempotencyKeyError
from wan26core._journal_postgres import PostgresJournal
from wan26core.cli import main

GENERATE = ["generate", "@a waves", "--ref", "a=https://example.com/a.mp4", "-p", "fal/r2v-flash", "--mock"]


def _errors(err: str) -> list[str]:
    assert "looks like a bug" not in err and "Traceback" not in err, err
    return [line for line in err.splitlines() if line.startswith("wan26: error:")]


# --- 2: jobs migrate copies the idempotency keys ---------------------------------------------------------------


def test_jobs_migrate_copies_idempotency_keys_once(home: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*GENERATE, "--idempotency-key", "order-1", "-o", "one.mp4"]) == 0
    source = home / "journal.sqlite3"
    with Journal(source) as journal:
        (first,) = journal.list()
        queued, _ = journal.record_intent_once("order-2", "fal/r2v", REQUEST, WIRE)  # unfinished: still answers
    capsys.readouterr()
    assert main(["jobs", "migrate", "--from", str(source), "--to", postgres_url]) == 0
    assert "2 idempotency key(s)" in capsys.readouterr().out
    assert main(["jobs", "migrate", "--from", str(source), "--to", postgres_url]) == 0  # again: nothing copied twice
    assert "0 idempotency key(s) (2 were there already)" in capsys.readouterr().out
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT key, job_id FROM idempotency ORDER BY created_at").fetchall()
    assert rows == [(hashlib.sha256(b"order-1").hexdigest(), first.id), (hashlib.sha256(b"order-2").hexdigest(), queued.id)]
    with PostgresJournal(postgres_url) as target:
        again, new = target.record_intent_once("order-2", "fal/r2v", REQUEST, WIRE)
        assert not new and again.id == queued.id
    assert main([*GENERATE, "--idempotency-key", "order-1", "-o", "two.mp4", "--journal", postgres_url]) == 0
    assert "submitted earlier" in capsys.readouterr().err
    with PostgresJournal(postgres_url) as target:
        assert len(target.list()) == 2  # the migrated key answered: nothing was submitted (paid) again
    assert Path("one.mp4").read_bytes() == Path("two.mp4").read_bytes()


# --- 4 and 6: jobs migrate names the journal at fault and only reads its source --------------------------------


def test_migrate_from_a_damaged_file_names_it_not_the_default_journal(
    home: Path, tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with Journal() as journal:  # the user's healthy default journal
        journal.record_intent("fal/r2v", REQUEST, WIRE)
    corrupt = tmp_path / "corrupt.sqlite3"
    corrupt.write_bytes(b"this is not a database at all" * 200)
    assert main(["jobs", "migrate", "--from", str(corrupt), "--to", postgres_url]) == 2
    (line,) = _errors(capsys.readouterr().err)
    assert str(corrupt) in line and "journal.sqlite3" not in line.replace("corrupt.sqlite3", ""), line
    assert "Move it aside" not in line
    good = tmp_path / "good.sqlite3"
    with Journal(good) as journal:
        journal.record_intent("fal/r2v", REQUEST, WIRE)
    assert main(["jobs", "migrate", "--from", str(good), "--to", str(corrupt)]) == 2  # the target is the damaged one
    (line,) = _errors(capsys.readouterr().err)
    assert line.startswith(f"wan26: error: --to {corrupt}") and str(home) not in line, line


def test_migrate_from_a_missing_or_foreign_file_is_refused_and_writes_nothing(
    home: Path, tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.sqlite3"
    assert main(["jobs", "migrate", "--from", str(missing), "--to", postgres_url]) == 2
    (line,) = _errors(capsys.readouterr().err)
    assert str(missing) in line and "no such journal file" in line, line
    assert not missing.exists()
    assert main(["jobs", "migrate", "--from", str(missing), "--to", str(tmp_path / "new.sqlite3")]) == 2
    assert not missing.exists() and not (tmp_path / "new.sqlite3").exists()  # checked before the target is made
    capsys.readouterr()
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE foo (x INTEGER)")
        conn.execute("INSERT INTO foo VALUES (1)")
    conn.close()
    before = other.read_bytes()
    assert main(["jobs", "migrate", "--from", str(other), "--to", postgres_url]) == 2
    (line,) = _errors(capsys.readouterr().err)
    assert str(other) in line and "not a wan26 journal" in line, line
    assert other.read_bytes() == before
    with sqlite3.connect(other) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["foo"]
    conn.close()


def test_migrate_from_a_database_without_a_journal_creates_nothing_there(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["jobs", "migrate", "--from", postgres_url, "--to", str(tmp_path / "j.sqlite3")]) == 2
    (line,) = _errors(capsys.readouterr().err)
    assert "holds no wan26 journal" in line and "--from postgresql://" in line, line
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT to_regclass('jobs') IS NULL AND to_regclass('wan26_schema') IS NULL").fetchone() == (True,)
    assert not (tmp_path / "j.sqlite3").exists()


def test_migrate_leaves_a_healthy_source_file_byte_for_byte_unchanged(tmp_path: Path, postgres_url: str) -> None:
    source = tmp_path / "journal.sqlite3"
    with Journal(source) as journal:
        job = journal.record_intent("fal/r2v", REQUEST, WIRE)
        journal.record_submitted(job.id, "r1", URLS)
    before = source.read_bytes()
    assert main(["jobs", "migrate", "--from", str(source), "--to", postgres_url]) == 0
    assert source.read_bytes() == before
    with PostgresJournal(postgres_url) as target:
        assert [r.remote_id for r in target.list()] == ["r1"]


# --- 7: a key answers only the request it was given to --------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_key_reused_for_another_request_or_provider_is_refused(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with _open(backend, request, tmp_path, clock=Clock()) as journal:
        first, new = journal.record_intent_once("shot-7", "fal/r2v", REQUEST, WIRE)
        assert new
        again, new = journal.record_intent_once("shot-7", "fal/r2v", REQUEST, WIRE)
        assert not new and again.id == first.id  # the same request: the first job, as before
        other = {**REQUEST, "prompt": "@cat jumps DIFFERENT"}
        with pytest.raises(IdempotencyKeyError, match=f"'shot-7' was used for another request .*job {first.short_id}"):
            journal.record_intent_once("shot-7", "fal/r2v", other, WIRE)
        with pytest.raises(ValueError, match="another request"):  # another provider: refused too
            journal.record_intent_once("shot-7", "dashscope/r2v", REQUEST, WIRE)
        assert [r.id for r in journal.list()] == [first.id]  # nothing recorded for the refused ones
        journal.record_submitted(first.id, "r1", URLS)
        journal.record_status(first.id, "succeeded")
        later, new = journal.record_intent_once("shot-7", "fal/r2v", other, WIRE, window=0)
        assert new and later.id != first.id  # the key's window is over: it is free for any request


def test_a_sqlite_key_table_of_before_gets_its_fingerprint_column(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with Journal(path, clock=Clock()) as journal:
        old = journal.record_intent("fal/r2v", REQUEST, WIRE)
    with sqlite3.connect(path) as conn:  # an idempotency table as wan26 made it before fingerprints were stored
        conn.execute("CREATE TABLE idempotency (key TEXT PRIMARY KEY, job_id TEXT NOT NULL, created_at REAL NOT NULL)")
        conn.execute("INSERT INTO idempotency VALUES (?, ?, ?)", (hashlib.sha256(b"k").hexdigest(), old.id, old.created_at))
    conn.close()
    with Journal(path, clock=Clock()) as journal:
        again, new = journal.record_intent_once("k", "other/x", {**REQUEST, "prompt": "other"}, WIRE)
        assert not new and again.id == old.id  # a key stored without a fingerprint answers as it did
        _fresh, new = journal.record_intent_once("k2", "fal/r2v", REQUEST, WIRE)
        assert new
        with pytest.raises(IdempotencyKeyError):
            journal.record_intent_once("k2", "fal/r2v", {**REQUEST, "prompt": "other"}, WIRE)


def test_generate_refuses_a_key_given_to_another_request_and_says_when_it_reuses(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*GENERATE, "--idempotency-key", "shot-7", "-o", "one.mp4"]) == 0
    assert "submitted fal/r2v-flash job" in capsys.readouterr().err
    with Journal() as journal:
        (first,) = journal.list()
    other = ["generate", "@a jumps DIFFERENT", "--ref", "a=https://example.com/a.mp4", "-p", "fal/r2v-flash", "--mock"]
    assert main([*other, "--idempotency-key", "shot-7", "-o", "two.mp4"]) == 2
    (line,) = _errors(capsys.readouterr().err)
    assert "'shot-7' was used for another request" in line and first.short_id in line, line
    assert not Path("two.mp4").exists()
    assert main([*GENERATE, "-p", "dashscope/r2v", "--idempotency-key", "shot-7", "-o", "three.mp4"]) == 2  # another provider
    (line,) = _errors(capsys.readouterr().err)
    assert "another request" in line and first.short_id in line, line
    assert main([*GENERATE, "--idempotency-key", "shot-7", "-o", "four.mp4"]) == 0  # the same request: its first job
    err = capsys.readouterr().err
    assert f"idempotency key 'shot-7': fal/r2v-flash job {first.id}" in err and "submitted earlier" in err, err
    assert "submitted fal/r2v-flash job" not in err, err
    with Journal() as journal:
        assert [r.id for r in journal.list()] == [first.id]


def test_the_client_refuses_another_request_under_a_key_before_sending(tmp_path: Path) -> None:
    import httpx

    from wan26core import Client

    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.method)
        return httpx.Response(200, json={"request_id": "r1", "status_url": "https://queue.fal.run/x/requests/r1/status"})

    with Client(
        "fal/r2v-flash", api_key="k", journal=tmp_path / "j.sqlite3", http=httpx.Client(transport=httpx.MockTransport(handler))
    ) as client:
        request = {"prompt": "@a waves", "references": [{"name": "a", "source": "https://example.com/a.png"}]}
        job = client.submit(request, idempotency_key="shot-9")
        assert not job.reused and sent == ["POST"]
        assert client.submit(request, idempotency_key="shot-9").reused and sent == ["POST"]
        with pytest.raises(IdempotencyKeyError, match=f"job {job.id[:8]}"):
            client.submit({**request, "prompt": "@a jumps"}, idempotency_key="shot-9")
        with pytest.raises(ValueError, match="non-empty"):
            client.submit(request, idempotency_key="   ")
        assert sent == ["POST"]


# --- 8: a blank or non-UTF-8 key is a usage error ---------------------------------------------------------------


@pytest.mark.parametrize("key", ["", "   ", "a\udcff\udcfeb"])  # the last: bytes 0xff 0xfe as Python passes argv
def test_a_blank_or_non_utf8_key_is_a_usage_error(home: Path, key: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*GENERATE, "--idempotency-key", key, "-o", "one.mp4"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("wan26: error: --idempotency-key: "), err
    assert not (home / "journal.sqlite3").exists() or not Journal().list()


# --- 9: jobs list --limit and --provider ------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_jobs_list_limit_is_bounded_and_an_empty_filter_says_so(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = str(tmp_path / "j.sqlite3") if backend == "sqlite" else request.getfixturevalue("postgres_url")
    with open_journal(target) as journal:
        journal.record_intent("fal/r2v", REQUEST, WIRE)
    for huge in ("99999999999999999999999", "1000001"):
        assert main(["jobs", "list", "--journal", target, "--limit", huge]) == 2
        err = capsys.readouterr().err
        assert "1,000,000" in err and "bigint" not in err and "looks like a bug" not in err, err
    assert main(["jobs", "list", "--journal", target, "--limit", "1000000", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1
    assert main(["jobs", "list", "--journal", target, "--provider", "vtrix/r2v"]) == 0
    assert capsys.readouterr().out.startswith("no jobs match")
    empty = str(tmp_path / "empty.sqlite3")
    assert main(["jobs", "list", "--journal", empty, "--provider", "vtrix/r2v"]) == 0
    assert capsys.readouterr().out == "no jobs in the journal\n"
