"""Leases on journaled jobs, for both backends: who works on a job now, and until when.

A lease is a row of ``leases`` (``job_id``, ``holder``, ``expires_at``). :meth:`Claims.claim` takes or renews the lease
of one job; :meth:`Claims.claim_next` finds *and* takes the oldest job of a set that still needs work and that no live
lease holds, in one transaction: on PostgreSQL its ``SELECT … FOR UPDATE OF j SKIP LOCKED`` passes over the rows other
workers are taking at that moment, so workers sharing a journal spread over the jobs instead of queueing on the same
one; SQLite's write lock serialises the claims of one machine. Expiry is measured by :meth:`_lease_now` (the database
server's clock for PostgreSQL, so that machines need not agree on the time).
"""

from __future__ import annotations

import abc
import builtins
import contextlib
import math
import os
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from wan26core._journal_rows import UnknownJobError

__all__ = ["Claims", "Run", "lease_holder_id"]

#: a job that needs nothing more: finished, and no wanted download missing (:attr:`JobRecord.download_pending`)
_DONE = (
    "(j.phase IN ('succeeded', 'failed', 'cancelled', 'rejected')"
    " AND NOT (j.phase = 'succeeded' AND j.wanted_output IS NOT NULL AND j.output_path IS NULL))"
)
#: ids per statement (SQLite allows 32766 parameters; PostgreSQL 65535)
_CHUNK = 500


class Run(Protocol):
    """Runs one statement inside a backend's transaction; returns its rows (empty for writes)."""

    def __call__(self, sql: str, params: Sequence[Any] = ()) -> builtins.list[tuple[Any, ...]]: ...


def lease_holder_id() -> str:
    """This process's name as a lease holder: host, pid and a random part (a pid is reused after a restart)."""
    import socket

    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Claims(abc.ABC):
    """The lease operations; a backend supplies the transactions and the clock."""

    #: the column that breaks ties of ``created_at`` in insertion order
    _ORDER: str = "rowid"
    #: how a backend skips rows another transaction holds (PostgreSQL), or nothing (SQLite serialises writers)
    _SKIP_LOCKED: str = ""
    _SKIP_LOCKED_JOBS: str = ""

    @abc.abstractmethod
    def _write(self) -> contextlib.AbstractContextManager[Run]:
        """One write transaction, serialised with every other writer of the same rows."""

    @abc.abstractmethod
    def _read(self) -> contextlib.AbstractContextManager[Run]:
        """A consistent read."""

    @abc.abstractmethod
    def _lease_now(self, run: Run) -> float:
        """The time leases are measured in: one clock for every worker (PostgreSQL's server, SQLite's machine)."""

    @abc.abstractmethod
    def _prepare_leases(self, run: Run) -> None:
        """Create what leases and idempotency keys need, where the schema does not have it already."""

    def claim(self, local_id: str, holder: str, ttl: float) -> bool:
        """Take (or renew) the lease on a job for ``ttl`` seconds; False while another holder's lease is alive.

        The lease row is read with ``FOR UPDATE SKIP LOCKED`` where the backend has it: a row another worker is
        claiming at this very moment counts as taken, so no two workers can both win it."""
        _check_ttl(ttl)
        with self._write() as run:
            self._prepare_leases(run)
            if not run("SELECT 1 FROM jobs WHERE id = ?", (local_id,)):
                raise UnknownJobError(f"no journaled job has the local id {local_id!r}")
            now = self._lease_now(run)
            run("INSERT INTO leases (job_id, holder, expires_at) VALUES (?, '', 0) ON CONFLICT (job_id) DO NOTHING", (local_id,))
            rows = run(f"SELECT holder, expires_at FROM leases WHERE job_id = ?{self._SKIP_LOCKED}", (local_id,))
            if not rows:
                return False
            current, expires = rows[0]
            if current != holder and expires > now:
                return False
            run("UPDATE leases SET holder = ?, expires_at = ? WHERE job_id = ?", (holder, now + ttl, local_id))
        return True

    def claim_next(self, ids: Sequence[str], holder: str, ttl: float) -> str | None:
        """Lease the oldest job of ``ids`` that still needs work (see :meth:`not_done`) and that no other holder's live
        lease holds; its id, or None when every such job is held elsewhere or done."""
        _check_ttl(ttl)
        for start in range(0, len(ids), _CHUNK):
            passed: set[str] = set()  # a job another worker took between this worker's look and its claim
            while True:
                chunk = [i for i in ids[start : start + _CHUNK] if i not in passed]
                if not chunk:
                    break
                with self._write() as run:
                    self._prepare_leases(run)
                    now = self._lease_now(run)
                    rows = run(
                        "SELECT j.id FROM jobs j LEFT JOIN leases l ON l.job_id = j.id"
                        f" WHERE j.id IN ({', '.join('?' * len(chunk))}) AND NOT {_DONE}"
                        " AND (l.job_id IS NULL OR l.expires_at <= ? OR l.holder = ?)"
                        f" ORDER BY j.created_at, j.{self._ORDER} LIMIT 1{self._SKIP_LOCKED_JOBS}",
                        (*chunk, now, holder),
                    )
                    if not rows:
                        break
                    job_id = str(rows[0][0])
                    run(  # taken over only when free, expired or ours, as the latest committed lease row says
                        "INSERT INTO leases (job_id, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT (job_id) DO UPDATE"
                        " SET holder = excluded.holder, expires_at = excluded.expires_at"
                        " WHERE leases.expires_at <= ? OR leases.holder = excluded.holder",
                        (job_id, holder, now + ttl, now),
                    )
                    won = run("SELECT holder FROM leases WHERE job_id = ?", (job_id,))
                if won and won[0][0] == holder:
                    return job_id
                passed.add(job_id)
        return None

    def not_done(self, ids: Sequence[str]) -> builtins.list[str]:
        """Those of ``ids`` that still need work: unfinished, or succeeded with a wanted download missing."""
        left: builtins.list[str] = []
        with self._read() as run:
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                sql = f"SELECT j.id FROM jobs j WHERE j.id IN ({', '.join('?' * len(chunk))}) AND NOT {_DONE}"
                left += [str(row[0]) for row in run(sql, tuple(chunk))]
        return left

    def release(self, local_id: str, holder: str) -> None:
        """Give the lease back at once (another worker may take the job); a lease held by someone else is kept."""
        with self._write() as run:
            self._prepare_leases(run)
            run("DELETE FROM leases WHERE job_id = ? AND holder = ?", (local_id, holder))

    def lease_holder(self, local_id: str) -> str | None:
        """Who holds a live lease on the job, or None (a read: asking costs no write)."""
        with self._read() as run:
            self._prepare_leases(run)
            now = self._lease_now(run)
            rows = run("SELECT holder FROM leases WHERE job_id = ? AND expires_at > ?", (local_id, now))
        return str(rows[0][0]) if rows and rows[0][0] else None


def _check_ttl(ttl: float) -> None:
    if isinstance(ttl, bool) or not (isinstance(ttl, (int, float)) and math.isfinite(ttl) and ttl > 0):
        raise ValueError(f"a lease lasts a number of seconds above 0, not {ttl!r}")
