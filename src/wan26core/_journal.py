"""The local job journal: every submit and every status change, durable before the call returns.

One SQLite file per user (standard-library :mod:`sqlite3`, WAL mode) records a job *before* its POST
(``intent``: provider, fingerprint, request, wire body) and *after* it (the provider's job id and URLs), then
every change of its state. A process killed at any point loses no job that reached the provider: each
``record_*`` call commits before it returns. Several threads and processes may share one journal.

Credentials never belong here; as a second line of defence everything written goes through the project's one
redaction (:mod:`wan26core._redaction`): values under secret-named keys, secret query parameters of every URL
(signed result URLs included) and URL userinfo are stored as ``"REDACTED"``.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import json
import math
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from wan26core._errors import Wan26Error
from wan26core._job_record import FINISHED_PHASES, PHASES, SCRUBBED, JobPhase, JobRecord, scrub
from wan26core._journal_schema import MIGRATIONS, SCHEMA_VERSION, default_journal_path
from wan26core._redaction import redact_text, redact_url

__all__ = [
    "FINISHED_PHASES",
    "SCHEMA_VERSION",
    "SCRUBBED",
    "JobPhase",
    "JobRecord",
    "Journal",
    "JournalError",
    "UnknownJobError",
    "default_journal_path",
    "fingerprint",
    "scrub",
]

#: Phases in which a job has not been accepted by the provider (yet, or as far as we know).
_PRE_ACCEPT = frozenset({"intent", "unknown", "rejected", "submitted"})
BUSY_TIMEOUT_S = 30.0


class JournalError(Wan26Error):
    """The journal cannot be opened or used (newer schema, closed journal, value that is not JSON)."""


class UnknownJobError(Wan26Error, KeyError):
    """No journaled job matches the identifier (or a prefix matches several); the message says which."""

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


# --- records -----------------------------------------------------------------------------------------


#: The fields a ``record_*`` call may change, in column order; events carry their new values.
_MUTABLE = (
    "phase",
    "remote_id",
    "urls",
    "queue_position",
    "progress",
    "last_log",
    "error",
    "result",
    "output_path",
    "wanted_output",
    "wanted_overwrite",
)
_JSON_COLUMNS = frozenset({"urls", "request", "wire", "error", "result"})
_COLUMNS = tuple(f for f in JobRecord.__dataclass_fields__)


# --- secrets -------------------------------------------------------------------------------------------


def _scrub_url(url: str) -> str:
    return redact_url(url)


def fingerprint(wire: Mapping[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of a wire body: sorted keys, no whitespace, UTF-8."""
    return hashlib.sha256(_dumps(wire, "wire").encode("utf-8")).hexdigest()


def _dumps(value: Any, what: str) -> str:
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise JournalError(f"journal: {what} must be JSON data (str, number, bool, None, list, dict): {exc}") from None


def _clean(value: Any, what: str, *, urls: bool = True) -> Any:
    """Scrubbed (see :func:`scrub`) and JSON-normalised (tuples become lists); a clear error for non-JSON data."""
    loaded: Any = json.loads(_dumps(scrub(value, urls=urls), what))
    return loaded


# --- location ------------------------------------------------------------------------------------------


# --- schema --------------------------------------------------------------------------------------------


# --- the journal ---------------------------------------------------------------------------------------


class Journal:
    """The job journal at ``path`` (default: :func:`default_journal_path`); safe across threads and processes.

    ``synchronous="NORMAL"`` (the default) survives any process crash, SIGKILL included; ``"FULL"`` also
    survives a power loss at the cost of an fsync per write.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be 'NORMAL' or 'FULL', not {synchronous!r}")
        self.path = Path(path) if path is not None else default_journal_path()
        self._clock = clock
        self._lock = threading.RLock()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self.path.exists():  # private to the user from the start; SQLite gives -wal/-shm the same mode
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open the journal at {self.path}: {exc}") from exc
        self._conn: sqlite3.Connection | None = conn
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {synchronous}")
            conn.execute("PRAGMA foreign_keys = ON")
            self._migrate(conn)
        except BaseException:
            conn.close()
            self._conn = None
            raise

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection; safe to call twice."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- plumbing --

    def _migrate(self, conn: sqlite3.Connection) -> None:
        with _transaction(conn):
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise JournalError(
                    f"the journal at {self.path} has schema version {version}, newer than this wan26 understands "
                    f"({SCHEMA_VERSION}); upgrade wan26 or set WAN26_HOME to another directory"
                )
            for number in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[number - 1]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._connection()
            with _transaction(conn):
                yield conn

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise JournalError(f"the journal at {self.path} is closed")
        return self._conn

    def _load(self, conn: sqlite3.Connection, local_id: str) -> JobRecord:
        row = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE id = ?", (local_id,)).fetchone()
        if row is None:
            raise UnknownJobError(f"no journaled job has the local id {local_id!r}")
        return _record(row)

    def _apply(self, local_id: str, kind: str, decide: Callable[[JobRecord], dict[str, Any]]) -> JobRecord:
        """Load, let ``decide`` name the new field values, store and log only the fields that really change."""
        with self._write() as conn:
            current = self._load(conn, local_id)
            proposed = decide(current)
            changes = {k: v for k, v in proposed.items() if not _same(k, getattr(current, k), v)}
            if not changes:
                return current
            now = self._clock()
            assignments = ", ".join(f"{k} = ?" for k in changes)
            values = [_dumps(v, k) if k in _JSON_COLUMNS and v is not None else v for k, v in changes.items()]
            conn.execute(f"UPDATE jobs SET {assignments}, updated_at = ? WHERE id = ?", (*values, now, local_id))
            phase = changes.get("phase", current.phase)
            conn.execute(
                "INSERT INTO events (job_id, at, kind, phase, changes) VALUES (?, ?, ?, ?, ?)",
                (local_id, now, kind, phase, _dumps(changes, "changes")),
            )
            return _replace(current, updated_at=now, **changes)

    # -- writes --

    def record_intent(
        self,
        provider: str,
        request: Mapping[str, Any],
        wire: Mapping[str, Any],
        *,
        base_url: str | None = None,
        label: str | None = None,
        mock: bool = False,
    ) -> JobRecord:
        """Record a submit about to be sent; returns the record with its new local id. Call *before* the POST.

        ``mock``: the job goes to a mock, not the provider (it is shown as such and never followed on the provider)."""
        now = self._clock()
        record = JobRecord(
            id=uuid.uuid4().hex,
            provider=provider,
            fingerprint=fingerprint(wire),
            phase="intent",
            created_at=now,
            updated_at=now,
            base_url=_scrub_url(base_url) if base_url is not None else None,
            request=_clean(request, "request"),
            wire=_clean(wire, "wire"),
            label=redact_text(label) if label is not None else None,
            mock=bool(mock),
        )
        with self._write() as conn:
            row = [_dumps(v, k) if k in _JSON_COLUMNS and v is not None else v for k, v in _fields(record)]
            conn.execute(f"INSERT INTO jobs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})", row)
            conn.execute(
                "INSERT INTO events (job_id, at, kind, phase, changes) VALUES (?, ?, 'intent', 'intent', ?)",
                (record.id, now, _dumps({"phase": "intent"}, "changes")),
            )
        return record

    def record_submitted(self, local_id: str, remote_id: str, urls: Mapping[str, str]) -> JobRecord:
        """The provider accepted the job as ``remote_id``; ``urls`` are its status/result/cancel/stream URLs."""
        if not isinstance(remote_id, str) or not remote_id:
            raise ValueError(f"remote_id must be a non-empty string, not {remote_id!r}")
        clean_urls = _clean(dict(urls), "urls")

        def decide(current: JobRecord) -> dict[str, Any]:
            if current.remote_id is not None and current.remote_id != remote_id:
                raise JournalError(
                    f"job {current.id} was already accepted as {current.remote_id!r}; refusing a second remote id {remote_id!r}"
                )
            phase = "submitted" if current.phase in _PRE_ACCEPT else current.phase
            return {"phase": phase, "remote_id": remote_id, "urls": clean_urls}

        return self._apply(local_id, "submitted", decide)

    def record_rejected(self, local_id: str, error: Mapping[str, Any]) -> JobRecord:
        """The provider refused the submit before accepting it (or it never reached the provider)."""
        clean_error = _clean(dict(error), "error")

        def decide(current: JobRecord) -> dict[str, Any]:
            if current.remote_id is not None:
                raise JournalError(f"job {current.id} was accepted as {current.remote_id!r}; it cannot be rejected")
            return {"phase": "rejected", "error": clean_error}

        return self._apply(local_id, "rejected", decide)

    def record_unknown(self, local_id: str, reason: str) -> JobRecord:
        """The submit may have reached the provider but no answer came (a read timeout); ``reason`` says what happened."""

        def decide(current: JobRecord) -> dict[str, Any]:
            if current.remote_id is not None:
                raise JournalError(f"job {current.id} is known to the provider as {current.remote_id!r}; it is not unknown")
            return {"phase": "unknown", "last_log": redact_text(reason)}

        return self._apply(local_id, "unknown", decide)

    def record_status(
        self,
        local_id: str,
        phase: JobPhase,
        *,
        queue_position: int | None = None,
        progress: float | None = None,
        last_log: str | None = None,
        error: Mapping[str, Any] | None = None,
        result: Mapping[str, Any] | None = None,
    ) -> JobRecord:
        """Record a status seen; an event is appended only when something changed.

        ``None`` means "not reported": the stored value is kept, except the queue position, which is cleared
        once the job leaves ``queued``. A finished job stays finished: a later unfinished phase (a stale poll,
        another process) is ignored and the stored record returned.
        """
        if phase not in PHASES or phase == "intent":
            raise ValueError(f"phase must be one of {sorted(PHASES - {'intent'})}, not {phase!r}")
        if queue_position is not None and (isinstance(queue_position, bool) or not isinstance(queue_position, int)):
            raise ValueError(f"queue_position must be an int, not {queue_position!r}")
        if progress is not None and (
            isinstance(progress, bool) or not isinstance(progress, (int, float)) or not math.isfinite(progress)
        ):
            raise ValueError(f"progress must be a finite number, not {progress!r}")
        clean_error = _clean(dict(error), "error") if error is not None else None
        clean_result = _clean(dict(result), "result") if result is not None else None

        def decide(current: JobRecord) -> dict[str, Any]:
            if current.finished and phase not in FINISHED_PHASES:
                return {}
            proposed: dict[str, Any] = {"phase": phase}
            if phase != "queued":
                proposed["queue_position"] = None
            if queue_position is not None and phase == "queued":
                proposed["queue_position"] = queue_position
            if progress is not None:
                proposed["progress"] = float(progress)
            if last_log is not None:
                proposed["last_log"] = redact_text(last_log)
            if clean_error is not None:
                proposed["error"] = clean_error
            if clean_result is not None:
                proposed["result"] = clean_result
            return proposed

        return self._apply(local_id, "status", decide)

    def record_download(self, local_id: str, path: str) -> JobRecord:
        """The result video was saved at ``path``."""
        stored = os.fspath(path)
        return self._apply(local_id, "download", lambda current: {"output_path": stored})

    def record_wanted_output(self, local_id: str, path: str | os.PathLike[str], *, overwrite: bool = False) -> JobRecord:
        """The video is to be saved at ``path`` (stored absolute); ``overwrite``: it may replace an existing file."""
        if not isinstance(overwrite, bool):
            raise ValueError(f"overwrite must be True or False, not {overwrite!r}")
        stored = os.path.abspath(os.fspath(path))
        return self._apply(local_id, "wanted", lambda current: {"wanted_output": stored, "wanted_overwrite": overwrite})

    def pending_downloads(self) -> builtins.list[JobRecord]:
        """Succeeded jobs whose wanted download is not recorded, oldest first (see :attr:`JobRecord.download_pending`)."""
        sql = (
            f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE phase = 'succeeded' AND wanted_output IS NOT NULL"
            " AND output_path IS NULL ORDER BY created_at, rowid"
        )
        with self._lock:
            return [_record(row) for row in self._connection().execute(sql).fetchall()]

    # -- reads --

    def get(self, ident: str) -> JobRecord:
        """The job whose local id, unique local-id prefix (6+ characters) or remote id is ``ident``."""
        with self._lock:
            conn = self._connection()
            select = f"SELECT {', '.join(_COLUMNS)} FROM jobs"
            row = conn.execute(f"{select} WHERE id = ?", (ident,)).fetchone()
            if row is not None:
                return _record(row)
            rows = conn.execute(f"{select} WHERE remote_id = ? ORDER BY created_at DESC LIMIT 5", (ident,)).fetchall()
            if len(rows) == 1:
                return _record(rows[0])
            if len(rows) > 1:
                raise UnknownJobError(f"remote id {ident!r} matches several journaled jobs ({_describe(rows)}); use a local id")
            prefix = ident.lower()
            if len(prefix) < 6:
                raise UnknownJobError(
                    f"no journaled job has the id {ident!r} (a local-id prefix needs 6+ characters; see `wan26 jobs list`)"
                )
            rows = conn.execute(  # the range lets SQLite use the primary key (local ids are lowercase hex)
                f"{select} WHERE id >= ? AND id < ? AND substr(id, 1, ?) = ? ORDER BY created_at DESC LIMIT 5",
                (prefix, prefix + "g", len(prefix), prefix),
            ).fetchall()
            if len(rows) == 1:
                return _record(rows[0])
            if len(rows) > 1:
                raise UnknownJobError(
                    f"the prefix {ident!r} matches several journaled jobs ({_describe(rows)}); give more characters"
                )
            raise UnknownJobError(f"no journaled job has the local or remote id {ident!r} (journal: {self.path})")

    def list(
        self, *, unfinished: bool = False, provider: str | None = None, limit: int | None = None
    ) -> builtins.list[JobRecord]:
        """Journaled jobs, newest first; ``unfinished`` keeps those not yet succeeded/failed/cancelled/rejected."""
        where: list[str] = []
        params: list[Any] = []
        if unfinished:
            where.append(f"phase NOT IN ({', '.join('?' * len(FINISHED_PHASES))})")
            params.extend(sorted(FINISHED_PHASES))
        if provider is not None:
            where.append("provider = ?")
            params.append(provider)
        sql = f"SELECT {', '.join(_COLUMNS)} FROM jobs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, rowid DESC"
        if limit is not None:
            if limit < 0:
                raise ValueError(f"limit must be >= 0, not {limit}")
            sql += " LIMIT ?"
            params.append(limit)
        with self._lock:
            return [_record(row) for row in self._connection().execute(sql, params).fetchall()]

    def events(self, local_id: str) -> builtins.list[dict[str, Any]]:
        """Every recorded change of the job, oldest first: ``{seq, at, kind, phase, changes}``."""
        with self._lock:
            conn = self._connection()
            self._load(conn, local_id)  # a clear error for an unknown id
            rows = conn.execute(
                "SELECT seq, at, kind, phase, changes FROM events WHERE job_id = ? ORDER BY seq", (local_id,)
            ).fetchall()
        return [{"seq": s, "at": at, "kind": k, "phase": p, "changes": json.loads(c)} for s, at, k, p, c in rows]


# --- helpers -------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE (takes the write lock up front, so the busy timeout applies) … COMMIT, or ROLLBACK."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _fields(record: JobRecord) -> Iterator[tuple[str, Any]]:
    for name in _COLUMNS:
        yield name, getattr(record, name)


def _record(row: tuple[Any, ...]) -> JobRecord:
    values = dict(zip(_COLUMNS, row, strict=True))
    for name in _JSON_COLUMNS:
        if values[name] is not None:
            try:
                values[name] = json.loads(values[name])
            except (ValueError, TypeError, RecursionError) as exc:
                raise JournalError(f"job {values['id']}: its {name} column is not valid JSON ({exc})") from None
    for name in ("created_at", "updated_at"):
        if isinstance(values[name], bool) or not isinstance(values[name], (int, float)):
            raise JournalError(f"job {values['id']}: its {name} column is {values[name]!r}, not a time")
    values["wanted_overwrite"] = bool(values["wanted_overwrite"])  # SQLite stores it as 0/1
    values["mock"] = bool(values["mock"])
    return JobRecord(**values)


def _replace(record: JobRecord, **changes: Any) -> JobRecord:
    values = dict(_fields(record))
    values.update(changes)
    return JobRecord(**values)


def _same(name: str, old: Any, new: Any) -> bool:
    """Equal as stored: JSON columns compare by canonical text (``True`` is not ``1`` there), others by value and type."""
    if name in _JSON_COLUMNS:
        return _dumps(old, name) == _dumps(new, name)
    return type(old) is type(new) and bool(old == new)


def _describe(rows: list[tuple[Any, ...]]) -> str:
    records = [_record(r) for r in rows]
    return ", ".join(f"{r.id} {r.provider}" for r in records)
