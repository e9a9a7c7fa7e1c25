"""The PostgreSQL journal backend: one job table for many workers on many machines (the ``[postgres]`` extra).

Same records, events, scrubbing and reads as the SQLite file (:mod:`wan26core._journal_base`); what differs is
how rows are kept consistent between workers: every change loads its row ``FOR UPDATE``, leases are taken with
``FOR UPDATE SKIP LOCKED`` and measured by the server's clock (one clock for every machine), and the submits of one
idempotency key are serialised by a transaction-scoped advisory lock. Connections come from a
:class:`psycopg_pool.ConnectionPool`, shared by the threads (and the event loop) of one process.

``psycopg`` is imported when a ``postgresql://`` journal is opened, never by ``import wan26core``.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from wan26core._errors import MissingExtraError
from wan26core._journal_base import JournalBase, JournalError
from wan26core._journal_claims import Run
from wan26core._journal_pg_schema import PG_MIGRATIONS, PG_SCHEMA_VERSION
from wan26core._journal_rows import apply_migrations
from wan26core._redaction import dsn_secrets, redact_dsn, scrub

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

__all__ = ["PostgresJournal"]

CONNECT_TIMEOUT_S = 10
#: every connection's bounds: a statement may run 30 s, and TCP keepalives and an unacknowledged-data limit end a
#: connection whose server or network is gone (libpq's ``keepalives*``, ``tcp_user_timeout``), so a journal call
#: never waits without limit on a dead link
CONNECTION_BOUNDS: dict[str, Any] = {
    "connect_timeout": CONNECT_TIMEOUT_S,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}
#: set on each connection (not through libpq's ``options``, which a URL may carry for its own settings)
STATEMENT_TIMEOUT_MS = 30_000
#: the most connections one process opens (threads of one client, a lease's renewal thread, the event loop)
POOL_MAX = 8
#: the lock every worker takes to apply migrations, so that two first uses at once do not both create the tables
_MIGRATION_LOCK = 0x77616E3236  # "wan26"


class PostgresJournal(JournalBase):
    """The job journal in the PostgreSQL database at ``url`` (``postgresql://user@host:port/db``); the tables are
    created, or migrated, on first use. Safe across threads, processes and machines."""

    _ORDER = "n"
    _LOCK_ROW = " FOR UPDATE"
    _SKIP_LOCKED = " FOR UPDATE SKIP LOCKED"
    _SKIP_LOCKED_JOBS = " FOR UPDATE OF j SKIP LOCKED"

    def __init__(self, url: str, *, clock: Callable[[], float] = time.time, pool_max: int = POOL_MAX) -> None:
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise MissingExtraError("the PostgreSQL journal needs the [postgres] extra: pip install 'wan26[postgres]'") from None
        self.url = url
        _scrub_pool_logs(dsn_secrets(url))
        self._clock = clock
        self._closed = threading.Event()
        try:
            with psycopg.connect(url, autocommit=True, **CONNECTION_BOUNDS) as conn:
                _bound_statements(conn)
                self._migrate(conn)
        except psycopg.OperationalError as exc:
            raise self._error("cannot reach", exc) from None
        except psycopg.Error as exc:  # reached, but refused: a missing privilege, a read-only server …
            raise self._error("cannot use", exc) from None
        self._pool: ConnectionPool[Any] = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_max,
            kwargs={"autocommit": True, **CONNECTION_BOUNDS},
            configure=_bound_statements,
            timeout=CONNECT_TIMEOUT_S * 3,
            open=False,
            name="wan26-journal",
        )
        self._pool.open(wait=False)

    @property
    def location(self) -> str:
        return redact_dsn(self.url)

    def close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            self._pool.close()

    def _error(self, what: str, exc: BaseException) -> JournalError:
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        detail = scrub(detail, dsn_secrets(self.url))  # libpq quotes what it could not parse, a password included
        return JournalError(f"{what} the PostgreSQL journal at {self.location}: {detail}")

    # -- plumbing --

    def _migrate(self, conn: psycopg.Connection[Any]) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            row = conn.execute("SELECT to_regclass('wan26_schema') IS NOT NULL").fetchone()
            version = 0
            if row is not None and row[0]:
                found = conn.execute("SELECT max(version) FROM wan26_schema").fetchone()
                version = int(found[0]) if found is not None and found[0] is not None else 0
            newer = (
                f"the PostgreSQL journal at {self.location} has schema version {version}, newer than this wan26"
                f" understands ({PG_SCHEMA_VERSION}); upgrade wan26 on this machine"
            )

            def mark(number: int) -> None:
                conn.execute("INSERT INTO wan26_schema (version, applied_at) VALUES (%s, now())", (number,))

            apply_migrations(version, PG_MIGRATIONS, conn.execute, mark, newer)

    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        import psycopg
        from psycopg_pool import PoolTimeout

        if self._closed.is_set():
            raise JournalError(f"the journal at {self.location} is closed")
        try:
            with self._pool.connection() as conn:
                yield conn
        except PoolTimeout as exc:
            raise self._error("no connection to", exc) from None
        except psycopg.OperationalError as exc:
            raise self._error("lost the connection to", exc) from None
        except psycopg.Error as exc:
            raise self._error("cannot use", exc) from None

    @contextlib.contextmanager
    def _write(self) -> Iterator[Run]:
        with self._connection() as conn, conn.transaction():
            yield _runner(conn)

    @contextlib.contextmanager
    def _read(self) -> Iterator[Run]:
        with self._connection() as conn, conn.transaction():
            yield _runner(conn)

    def _lease_now(self, run: Run) -> float:
        return float(run("SELECT extract(epoch FROM clock_timestamp())::float8")[0][0])

    def _prepare_leases(self, run: Run) -> None:
        return None  # the leases and idempotency tables are part of the schema (migration 1)

    def _lock_key(self, run: Run, key: str) -> None:
        run("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (key,))


def _runner(conn: psycopg.Connection[Any]) -> Run:
    def run(sql: str, params: Any = ()) -> builtins.list[tuple[Any, ...]]:
        cur = conn.execute(sql.replace("?", "%s"), tuple(params))  # our own SQL text
        return cur.fetchall() if cur.description is not None else []

    return run


class _ScrubSecrets(logging.Filter):
    """psycopg_pool logs connection failures in libpq's words, which may quote a password: masked here."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        cleaned = scrub(text, self.secrets)
        if cleaned != text:
            record.msg, record.args = cleaned, None
        return True


def _scrub_pool_logs(secrets: list[str]) -> None:
    if secrets:
        logging.getLogger("psycopg.pool").addFilter(_ScrubSecrets(secrets))


def _bound_statements(conn: psycopg.Connection[Any]) -> None:
    """No statement of this connection runs longer than :data:`STATEMENT_TIMEOUT_MS` (a stuck lock, a sick server)."""
    conn.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
