"""The local job journal: every submit and every status change, durable before the call returns.

One SQLite file per user (standard-library :mod:`sqlite3`, WAL mode) records a job *before* its POST
(``intent``: provider, fingerprint, request, wire body) and *after* it (the provider's job id and URLs), then
every change of its state. A process killed at any point loses no job that reached the provider: each
``record_*`` call commits before it returns. Several threads and processes may share one journal.

Credentials never belong here; as a second line of defence everything written goes through the project's one
redaction (:mod:`wan26core._redaction`): values under secret-named keys, secret query parameters of every URL
(signed result URLs included) and URL userinfo are stored as ``"REDACTED"``.

What the journal does is backend-neutral (:mod:`wan26core._journal_base`); this module is its SQLite backend,
the default. :func:`open_journal` picks the backend from a path or a ``postgresql://`` URL (docs/journal.md).
"""

from __future__ import annotations

import builtins
import contextlib
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from wan26core._job_record import FINISHED_PHASES, SCRUBBED, JobPhase, JobRecord, scrub
from wan26core._journal_base import JournalBase, JournalError, UnknownJobError, fingerprint
from wan26core._journal_claims import Run
from wan26core._journal_rows import apply_migrations
from wan26core._journal_schema import MIGRATIONS, SCHEMA_VERSION, default_journal_path

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
    "open_journal",
    "scrub",
]

BUSY_TIMEOUT_S = 30.0

#: Created on the first lease or idempotency key, outside the numbered migrations: a journal that never used them
#: keeps the file format (and ``user_version``) of before, and older wan26 versions still open one that did.
_LEASE_TABLES = (
    "CREATE TABLE IF NOT EXISTS leases (job_id TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, job_id TEXT NOT NULL, created_at REAL NOT NULL)",
)


class Journal(JournalBase):
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
        self._lease_tables = False
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

    @property
    def location(self) -> str:
        return str(self.path)

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
            newer = (
                f"the journal at {self.path} has schema version {version}, newer than this wan26 understands "
                f"({SCHEMA_VERSION}); upgrade wan26 or set WAN26_HOME to another directory"
            )
            apply_migrations(version, MIGRATIONS, conn.execute, lambda n: conn.execute(f"PRAGMA user_version = {n}"), newer)

    @contextlib.contextmanager
    def _write(self) -> Iterator[Run]:
        with self._lock:
            conn = self._connection()
            with _transaction(conn):
                yield _runner(conn)

    @contextlib.contextmanager
    def _read(self) -> Iterator[Run]:
        with self._lock:
            yield _runner(self._connection())

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise JournalError(f"the journal at {self.path} is closed")
        return self._conn

    def _lease_now(self, run: Run) -> float:
        return time.time()  # one machine, one clock (the injected clock is the records' clock, for tests)

    def _prepare_leases(self, run: Run) -> None:
        if not self._lease_tables:
            for statement in _LEASE_TABLES:
                run(statement)
            self._lease_tables = True

    def _lock_key(self, run: Run, key: str) -> None:
        return None  # BEGIN IMMEDIATE already serialises every writer of the file


def open_journal(
    target: JournalBase | str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None
) -> JournalBase:
    """The journal ``target`` names: a journal (as is), a ``postgresql://`` URL (the PostgreSQL backend, the
    ``[postgres]`` extra), or a SQLite file path; None means ``$WAN26_JOURNAL_URL``, else the default file."""
    if isinstance(target, JournalBase):
        return target
    if target is None:
        target = ((os.environ if environ is None else environ).get("WAN26_JOURNAL_URL") or "").strip() or None
    if target is None:
        return Journal()
    text = os.fspath(target)
    if not text.strip():
        raise JournalError("the journal is named by an empty string: give a file path or a postgresql:// URL")
    if is_postgres_url(text):
        from wan26core._journal_postgres import PostgresJournal

        scheme_end = text.index("://")
        return PostgresJournal(text[:scheme_end].lower() + text[scheme_end:])  # libpq reads the scheme in lower case
    if text[:10].lower() == "sqlite:///":
        return Journal(text[len("sqlite://") :])
    scheme = _SCHEME.match(text)
    if scheme or _CONNINFO.search(text):  # a typo or another database must not become a local file (and a password a path)
        shown = f"{scheme.group(1)}://…" if scheme else "a key=value connection string"
        raise JournalError(
            f"the journal {shown} is neither a file path nor a postgresql:// (or sqlite:///) URL; write the URL as "
            "postgresql://user@host:port/database"
        )
    return Journal(text)


#: a URL scheme (``mysql://``); a Windows drive (``C:\``) has no ``//``
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
#: libpq's key=value form (``host=db password=…``), which is no path either
_CONNINFO = re.compile(r"(?i)(^|\s)(host|dbname|user|password|port)\s*=")


def is_postgres_url(text: str) -> bool:
    return text[:13].lower().startswith(("postgresql://", "postgres://"))


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


def _runner(conn: sqlite3.Connection) -> Run:
    def run(sql: str, params: Any = ()) -> builtins.list[tuple[Any, ...]]:
        return conn.execute(sql, tuple(params)).fetchall()

    return run
