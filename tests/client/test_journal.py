"""The job journal: round trips, phases, lookups, secrets, WAL, several processes, SIGKILL, and a state property."""

from __future__ import annotations

import hashlib
import itertools
import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wan26core._journal import (
    SCHEMA_VERSION,
    SCRUBBED,
    JobRecord,
    Journal,
    JournalError,
    UnknownJobError,
    default_journal_path,
    fingerprint,
    scrub,
)

REQUEST = {
    "prompt": "@alice waves at @bob",
    "references": ({"name": "alice", "kind": "image", "source": "https://example.com/alice.png"},),
    "duration": 5,
}
WIRE = {"prompt": "Character1 waves", "image_urls": ["https://example.com/alice.png"], "duration": "5"}
URLS = {
    "status": "https://queue.fal.run/wan/v2.6/requests/r1/status",
    "result": "https://queue.fal.run/wan/v2.6/requests/r1",
    "cancel": "https://queue.fal.run/wan/v2.6/requests/r1/cancel",
}


class Clock:
    """A clock that moves one second per reading."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.fixture
def journal(tmp_path: Path) -> Any:
    with Journal(tmp_path / "j" / "journal.sqlite3", clock=Clock()) as j:
        yield j


def test_intent_round_trips_through_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "journal.sqlite3"
    with Journal(path) as journal:
        rec = journal.record_intent("fal/r2v-flash", REQUEST, WIRE, base_url="https://queue.fal.run", label="take 1")
    assert path.is_file()
    with Journal(path) as reopened:
        again = reopened.get(rec.id)
    assert again == rec
    assert again.phase == "intent" and not again.finished
    assert len(rec.id) == 32 and int(rec.id, 16) >= 0
    assert again.provider == "fal/r2v-flash" and again.label == "take 1" and again.base_url == "https://queue.fal.run"
    assert again.request == json.loads(json.dumps(REQUEST))  # tuples come back as lists
    assert again.wire == WIRE and again.urls == {} and again.remote_id is None
    canonical = json.dumps(WIRE, sort_keys=True, separators=(",", ":")).encode()
    assert again.fingerprint == fingerprint(WIRE) == hashlib.sha256(canonical).hexdigest()
    assert json.loads(json.dumps(again.to_dict()))["id"] == rec.id


def test_a_job_moves_through_its_phases_and_every_change_is_an_event(journal: Journal) -> None:
    rec = journal.record_intent("fal/r2v-flash", REQUEST, WIRE)
    sub = journal.record_submitted(rec.id, "r1", URLS)
    assert (sub.phase, sub.remote_id, sub.urls) == ("submitted", "r1", URLS)
    q = journal.record_status(rec.id, "queued", queue_position=3)
    assert q.queue_position == 3 and q.updated_at > sub.updated_at
    same = journal.record_status(rec.id, "queued", queue_position=3)  # nothing new: no event, no new time
    assert same == q
    q2 = journal.record_status(rec.id, "queued")  # position not reported: kept
    assert q2 == q
    run = journal.record_status(rec.id, "running", progress=0.5, last_log="step 10/20")
    assert (run.phase, run.queue_position, run.progress, run.last_log) == ("running", None, 0.5, "step 10/20")
    done = journal.record_status(rec.id, "succeeded", result={"video": {"url": "https://v3.fal.media/files/x.mp4"}})
    assert (
        done.finished and done.last_log == "step 10/20" and done.result == {"video": {"url": "https://v3.fal.media/files/x.mp4"}}
    )
    stale = journal.record_status(rec.id, "running", progress=0.9)  # a late poll from another process
    assert stale == done
    saved = journal.record_download(rec.id, "/tmp/out.mp4")
    assert saved.output_path == "/tmp/out.mp4" and saved.phase == "succeeded"
    assert journal.get(rec.id) == saved

    events = journal.events(rec.id)
    assert [(e["kind"], e["phase"]) for e in events] == [
        ("intent", "intent"),
        ("submitted", "submitted"),
        ("status", "queued"),
        ("status", "running"),
        ("status", "succeeded"),
        ("download", "succeeded"),
    ]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert all(a["at"] < b["at"] for a, b in itertools.pairwise(events))
    assert events[3]["changes"] == {"phase": "running", "queue_position": None, "progress": 0.5, "last_log": "step 10/20"}


def test_rejected_and_unknown_submits(journal: Journal) -> None:
    a = journal.record_intent("vtrix/r2v", REQUEST, WIRE)
    err = {"http_status": 429, "code": "Throttling", "message": "slow down", "kind": "rate_limited"}
    rejected = journal.record_rejected(a.id, err)
    assert rejected.phase == "rejected" and rejected.finished and rejected.error == err

    b = journal.record_intent("vtrix/r2v", REQUEST, WIRE)
    unknown = journal.record_unknown(b.id, "read timeout after 30 s")
    assert unknown.phase == "unknown" and not unknown.finished and unknown.last_log == "read timeout after 30 s"
    found = journal.record_submitted(b.id, "task-9", {"status": "https://cloud.vtrix.ai/model/v1/generation/task/task-9"})
    assert found.phase == "submitted" and found.remote_id == "task-9"

    with pytest.raises(JournalError, match="cannot be rejected"):
        journal.record_rejected(b.id, err)
    with pytest.raises(JournalError, match="refusing a second remote id"):
        journal.record_submitted(b.id, "task-10", {})
    with pytest.raises(ValueError, match="phase must be one of"):
        journal.record_status(b.id, "intent")
    with pytest.raises(UnknownJobError, match="no journaled job"):
        journal.record_status("f" * 32, "running")
    assert journal.get(b.id) == found  # failed calls changed nothing


def test_lookup_by_prefix_remote_id_and_clear_errors(journal: Journal, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = iter(["abcdef01" + "0" * 24, "abcdef02" + "0" * 24, "12345678" + "0" * 24])
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(hex=next(ids)))
    a = journal.record_intent("fal/r2v", REQUEST, WIRE)
    b = journal.record_intent("fal/r2v", REQUEST, WIRE)
    c = journal.record_intent("dashscope/r2v", REQUEST, WIRE)
    journal.record_submitted(a.id, "req-1", URLS)
    journal.record_submitted(c.id, "req-1", {})  # the same remote id at another provider (or another mock run)

    assert journal.get("abcdef01").id == a.id
    assert journal.get("ABCDEF02").id == b.id
    assert journal.get("123456").id == c.id
    assert journal.get(b.id).id == b.id
    with pytest.raises(UnknownJobError, match="matches several journaled jobs") as ambiguous:
        journal.get("abcdef")
    assert a.id in str(ambiguous.value) and b.id in str(ambiguous.value)
    with pytest.raises(UnknownJobError, match="6\\+ characters"):
        journal.get("abc")
    with pytest.raises(UnknownJobError, match="remote id 'req-1' matches several"):
        journal.get("req-1")
    with pytest.raises(KeyError):
        journal.get("ffffffff")
    journal.record_submitted(b.id, "req-2", URLS)
    assert journal.get("req-2").id == b.id


def test_list_is_newest_first_and_filters(journal: Journal) -> None:
    jobs = [journal.record_intent("fal/r2v" if i % 2 else "vtrix/r2v", REQUEST, WIRE) for i in range(6)]
    journal.record_rejected(jobs[0].id, {"message": "no"})
    journal.record_submitted(jobs[1].id, "r1", {})
    journal.record_status(jobs[1].id, "succeeded", result={"url": "https://x/v.mp4"})
    journal.record_submitted(jobs[2].id, "r2", {})
    journal.record_status(jobs[2].id, "running")

    assert [r.id for r in journal.list()] == [j.id for j in reversed(jobs)]
    assert [r.id for r in journal.list(limit=2)] == [jobs[5].id, jobs[4].id]
    assert {r.id for r in journal.list(unfinished=True)} == {jobs[i].id for i in (2, 3, 4, 5)}
    assert [r.id for r in journal.list(provider="fal/r2v")] == [jobs[5].id, jobs[3].id, jobs[1].id]
    assert [r.id for r in journal.list(unfinished=True, provider="vtrix/r2v")] == [jobs[4].id, jobs[2].id]
    assert all(isinstance(r, JobRecord) for r in journal.list())


def test_wal_mode_schema_version_and_newer_schema_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    Journal(path).close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 1
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        conn.commit()
    finally:
        conn.close()
    with pytest.raises(JournalError, match=f"schema version {SCHEMA_VERSION + 1}, newer"):
        Journal(path)
    if os.name == "posix":
        assert path.stat().st_mode & 0o077 == 0  # private to the user


def test_closed_journal_and_bad_values(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    with pytest.raises(JournalError, match="JSON"):
        journal.record_intent("fal/r2v", {"prompt": object()}, WIRE)
    journal.close()
    journal.close()
    with pytest.raises(JournalError, match="is closed"):
        journal.list()


def test_default_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WAN26_HOME", str(tmp_path / "home"))
    assert default_journal_path() == tmp_path / "home" / "journal.sqlite3"
    with Journal() as journal:
        assert journal.path == tmp_path / "home" / "journal.sqlite3" and journal.path.is_file()
    monkeypatch.delenv("WAN26_HOME")
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_journal_path() == tmp_path / "xdg" / "wan26" / "journal.sqlite3"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert default_journal_path() == tmp_path / "user" / ".local" / "share" / "wan26" / "journal.sqlite3"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert default_journal_path() == tmp_path / "user" / "Library" / "Application Support" / "wan26" / "journal.sqlite3"
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert default_journal_path() == tmp_path / "local" / "wan26" / "journal.sqlite3"


CANARY = "sk-CANARY-5f1e9c0b7a2d4e6f"


def test_a_canary_secret_never_reaches_the_file(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    hook = f"https://me.example/hook?token={CANARY}"
    with Journal(path) as journal:
        rec = journal.record_intent(
            "fal/r2v",
            {**REQUEST, "api_key": CANARY},
            {**WIRE, "headers": {"Authorization": f"Key {CANARY}", "X-Api-Key": CANARY}},
            base_url=f"https://user:{CANARY}@queue.fal.run/",
        )
        journal.record_submitted(
            rec.id,
            "r1",
            {
                "status": f"https://queue.fal.run/wan/v2.6/requests/r1/status?logs=1&api_key={CANARY}",
                "submit": f"https://queue.fal.run/wan?fal_webhook={quote(hook, safe='')}",
            },
        )
        failed = journal.record_status(rec.id, "failed", error={"code": "bad", "message": "m", "token": CANARY})
        journal.record_status(rec.id, "failed", result={"session": {"secret": CANARY}, "url": "https://x/v.mp4?Signature=s"})
        stored = journal.get(rec.id)
        events = journal.events(rec.id)
    assert stored.request["api_key"] == SCRUBBED and stored.wire["headers"] == {"Authorization": SCRUBBED, "X-Api-Key": SCRUBBED}
    assert stored.base_url == f"https://{SCRUBBED}@queue.fal.run/"
    assert stored.urls["status"] == f"https://queue.fal.run/wan/v2.6/requests/r1/status?logs=1&api_key={SCRUBBED}"
    assert CANARY not in stored.urls["submit"] and "me.example" in stored.urls["submit"]
    assert failed.error == {"code": "bad", "message": "m", "token": SCRUBBED}
    assert stored.result == {"session": {"secret": SCRUBBED}, "url": f"https://x/v.mp4?Signature={SCRUBBED}"}
    assert stored.fingerprint == rec.fingerprint and CANARY not in json.dumps(events)
    files = [p for p in tmp_path.iterdir() if p.name.startswith("journal.sqlite3")]
    assert path in files
    for file in files:
        assert CANARY.encode() not in file.read_bytes(), file.name


def test_scrub_leaves_ordinary_values_alone() -> None:
    data = {"prompt": "Key moments: a token of love", "keyframes": [1, 2], "monkey": "https://a/b?x=1&y=2#frag", "seed": 3}
    assert scrub(data) == data
    assert scrub({"client_secret": "x", "password": None}) == {"client_secret": SCRUBBED, "password": None}
    assert scrub("http://h/p?access_token=abc&keep=1") == f"http://h/p?access_token={SCRUBBED}&keep=1"


def _write_jobs(path: str, tag: str, count: int) -> None:
    """Run in a child process: journal ``count`` jobs through intent, submitted and one status."""
    with Journal(path) as journal:
        for i in range(count):
            rec = journal.record_intent("fal/r2v", {"prompt": f"{tag}-{i}"}, {"prompt": f"{tag}-{i}"}, label=tag)
            journal.record_submitted(rec.id, f"{tag}-{i}", {})
            journal.record_status(rec.id, "queued", queue_position=i)


def test_two_processes_write_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "journal.sqlite3")
    Journal(path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_jobs, args=(path, tag, 200)) for tag in ("a", "b")]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [proc.exitcode for proc in procs] == [0, 0]
    with Journal(path) as journal:
        records = journal.list()
        assert len(records) == 400
        assert {r.remote_id for r in records} == {f"{t}-{i}" for t in "ab" for i in range(200)}
        assert all(r.phase == "queued" and len(journal.events(r.id)) == 3 for r in records[:20])


def test_threads_share_one_journal(journal: Journal) -> None:
    errors: list[BaseException] = []

    def work(tag: str) -> None:
        try:
            for i in range(25):
                rec = journal.record_intent("fal/r2v", {"prompt": tag}, {"i": i})
                journal.record_submitted(rec.id, f"{tag}-{i}", {})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"t{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(journal.list()) == 100 and all(r.phase == "submitted" for r in journal.list())


def test_sigkill_right_after_record_submitted_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        from wan26core._journal import Journal
        journal = Journal({str(path)!r})
        rec = journal.record_intent("dashscope/r2v", {{"prompt": "p"}}, {{"model": "wan2.6-r2v"}})
        journal.record_submitted(rec.id, "task-killed", {{"status": "https://dashscope-intl.aliyuncs.com/api/v1/tasks/x"}})
        sys.stdout.write(rec.id)
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == -signal.SIGKILL, done.stderr
    local_id = done.stdout.strip()
    with Journal(path) as journal:
        rec = journal.get(local_id)
        assert (rec.phase, rec.remote_id) == ("submitted", "task-killed")
        assert journal.get("task-killed").id == local_id


# --- the property: the journal is exactly the sequence of effective changes --------------------------------

_text = st.text(st.characters(codec="utf-8"), max_size=8)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | _text, lambda c: st.dictionaries(_text, c, max_size=2), max_leaves=4
)
_ops = st.one_of(
    st.tuples(st.just("submitted"), st.sampled_from(["r1", "r2"]), st.dictionaries(st.sampled_from(["status", "result"]), _text)),
    st.tuples(st.just("rejected"), st.dictionaries(st.sampled_from(["code", "message"]), _text, min_size=1)),
    st.tuples(st.just("unknown"), st.sampled_from(["read timeout", "reset"])),
    st.tuples(
        st.just("status"),
        st.sampled_from(["submitted", "queued", "running", "succeeded", "failed", "cancelled", "rejected", "unknown"]),
        st.fixed_dictionaries(
            {},
            optional={
                "queue_position": st.integers(0, 3),
                "progress": st.sampled_from([0.0, 0.5, 1.0]),
                "last_log": st.sampled_from(["a", "b"]),
                "error": st.dictionaries(st.just("message"), _text, min_size=1),
                "result": st.dictionaries(st.just("video"), _json, min_size=1),
            },
        ),
    ),
    st.tuples(st.just("download"), st.sampled_from(["/o/a.mp4", "/o/b.mp4"])),
)


def _call(journal: Journal, local_id: str, op: tuple[Any, ...]) -> JobRecord:
    kind, *args = op
    if kind == "submitted":
        return journal.record_submitted(local_id, args[0], args[1])
    if kind == "rejected":
        return journal.record_rejected(local_id, args[0])
    if kind == "unknown":
        return journal.record_unknown(local_id, args[0])
    if kind == "status":
        return journal.record_status(local_id, args[0], **args[1])
    return journal.record_download(local_id, args[0])


_MUTABLE = ("phase", "remote_id", "urls", "queue_position", "progress", "last_log", "error", "result", "output_path")


def _state(record: JobRecord) -> str:
    """The fields a call may change, as stored (JSON text, so ``True`` and ``1`` differ)."""
    return json.dumps({f: getattr(record, f) for f in _MUTABLE}, sort_keys=True)


@pytest.fixture(scope="module")
def shared_journal(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One journal for every Hypothesis example (each example journals a new job)."""
    with Journal(tmp_path_factory.mktemp("property") / "journal.sqlite3") as j:
        yield j


@given(ops=st.lists(_ops, max_size=12))
def test_any_call_sequence_gives_the_last_state_and_one_event_per_change(shared_journal: Journal, ops: list[Any]) -> None:
    journal = shared_journal
    last = journal.record_intent("fal/r2v", REQUEST, WIRE)
    changes = 0
    for op in ops:
        try:
            now = _call(journal, last.id, op)
        except JournalError:
            now = last  # refused: nothing may have changed
        assert journal.get(last.id) == now
        if _state(now) != _state(last):
            changes += 1
            assert now.updated_at >= last.updated_at
        else:
            assert now == last  # not even the time moves
        last = now
    events = journal.events(last.id)
    assert len(events) == 1 + changes
    replay: dict[str, Any] = {"urls": {}}
    for event in events:
        replay.update(event["changes"])
        assert event["phase"] == replay["phase"]
    assert json.dumps({f: replay.get(f) for f in _MUTABLE}, sort_keys=True) == _state(last)


# --- the wanted output (schema 2) ------------------------------------------------------------------------
V1_SCHEMA = (  # the schema as version 1 created it, kept here verbatim: old journals on disk look like this
    """CREATE TABLE jobs (id TEXT PRIMARY KEY, provider TEXT NOT NULL, fingerprint TEXT NOT NULL, phase TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL, remote_id TEXT, urls TEXT NOT NULL, base_url TEXT,
    request TEXT NOT NULL, wire TEXT NOT NULL, queue_position INTEGER, progress REAL, last_log TEXT, error TEXT,
    result TEXT, output_path TEXT, label TEXT)""",
    """CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE, at REAL NOT NULL, kind TEXT NOT NULL,
    phase TEXT NOT NULL, changes TEXT NOT NULL)""",
)


def test_a_version_2_journal_of_embedded_mock_jobs_is_marked_mock(tmp_path: Path) -> None:
    path = tmp_path / "embedded-mock.sqlite3"
    with Journal(path) as journal:
        old = journal.record_intent("fal/r2v-flash", {}, {}, base_url="http://wan26-embedded-mock.invalid")
        real = journal.record_intent("fal/r2v-flash", {}, {}, base_url="https://queue.fal.run")
    with sqlite3.connect(path) as conn:  # back to what wan26 wrote before mock jobs were marked
        conn.execute("ALTER TABLE jobs DROP COLUMN mock")
        conn.execute("PRAGMA user_version = 2")
    conn.close()
    with Journal(path) as journal:
        assert journal.get(old.id).mock is True and journal.get(real.id).mock is False


def test_a_version_1_journal_is_migrated_and_its_jobs_stay_readable(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    try:
        for statement in V1_SCHEMA:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO jobs VALUES ('a' || hex(randomblob(15)), 'fal/r2v', 'f', 'succeeded', 1.0, 2.0, 'r1', '{}', NULL,"
            " '{}', '{}', NULL, 1.0, NULL, NULL, '{\"url\": \"https://x/v.mp4\"}', NULL, 'old')"
        )
        conn.execute("PRAGMA user_version = 1")
        conn.commit()
    finally:
        conn.close()
    with Journal(path) as journal:
        (record,) = journal.list()
        assert (record.phase, record.remote_id, record.label) == ("succeeded", "r1", "old")
        assert record.result == {"url": "https://x/v.mp4"}
        assert record.wanted_output is None and record.wanted_overwrite is False and not record.download_pending
        assert record.mock is False  # jobs journaled before mock jobs shared the journal were real ones
        assert journal.pending_downloads() == []
        wanted = journal.record_wanted_output(record.id, tmp_path / "v.mp4")
        assert wanted.download_pending and journal.pending_downloads() == [wanted]
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    finally:
        conn.close()


def test_the_wanted_output_is_journaled_and_pending_until_the_download_is(
    journal: Journal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first = journal.record_intent("fal/r2v", REQUEST, WIRE)
    other = journal.record_intent("fal/r2v", REQUEST, WIRE)
    for record in (first, other):
        journal.record_submitted(record.id, f"remote-{record.id}", URLS)
    wanted = journal.record_wanted_output(first.id, "videos/out.mp4", overwrite=True)
    assert wanted.wanted_output == str(tmp_path / "videos" / "out.mp4") and wanted.wanted_overwrite is True
    assert not wanted.download_pending and journal.pending_downloads() == []  # not finished yet
    for record in (first, other):
        journal.record_status(record.id, "succeeded", result={"url": "https://x/v.mp4"})
    assert [r.id for r in journal.pending_downloads()] == [first.id]  # the other never asked for a file
    assert journal.get(first.id).wanted_overwrite is True  # read back from the file as a bool
    journal.record_download(first.id, str(tmp_path / "videos" / "out.mp4"))
    assert journal.pending_downloads() == [] and not journal.get(first.id).download_pending
    kinds = [e["kind"] for e in journal.events(first.id)]
    assert kinds == ["intent", "submitted", "wanted", "status", "download"]
    with pytest.raises(ValueError, match="overwrite must be True or False"):
        journal.record_wanted_output(first.id, "x.mp4", overwrite="yes")  # type: ignore[arg-type]
