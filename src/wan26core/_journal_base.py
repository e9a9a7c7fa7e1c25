"""What every journal backend shares: the records' rules (what each ``record_*`` call may change, scrubbing, events),
the reads, the idempotency keys and (from :mod:`wan26core._journal_claims`) the leases, written once against a small
SQL surface that SQLite (:mod:`wan26core._journal`) and PostgreSQL (:mod:`wan26core._journal_postgres`) each provide.

The SQL here uses ``?`` placeholders; a backend translates them (PostgreSQL's driver wants ``%s``).
"""

from __future__ import annotations

import abc
import builtins
import contextlib
import json
import math
import os
import sqlite3
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from wan26core._job_record import FINISHED_PHASES, PHASES, JobPhase, JobRecord
from wan26core._journal_claims import Claims, Run
from wan26core._journal_keys import (
    DEFAULT_IDEMPOTENCY_WINDOW_S,
    check_idempotency_key,
    compute_request_fingerprint,
    refuse_other_request,
    shown_key,
)
from wan26core._journal_rows import (
    COLUMNS,
    JSON_COLUMNS,
    IdempotencyKeyError,
    JournalError,
    UnknownJobError,
    clean,
    describe,
    dumps,
    fields,
    fingerprint,
    replace_record,
    same,
    to_record,
)
from wan26core._redaction import redact_text, redact_url

__all__ = [
    "DEFAULT_IDEMPOTENCY_WINDOW_S",
    "IdempotencyKeyError",
    "JournalBase",
    "JournalError",
    "UnknownJobError",
    "check_idempotency_key",
    "compute_request_fingerprint",
    "fingerprint",
    "shown_key",
]

#: Phases in which a job has not been accepted by the provider (yet, or as far as we know).
_PRE_ACCEPT = frozenset({"intent", "unknown", "rejected", "submitted"})

_SELECT = f"SELECT {', '.join(COLUMNS)} FROM jobs"


_Journal = TypeVar("_Journal", bound="JournalBase")


class JournalBase(Claims):
    """The journal's behaviour; a backend supplies transactions (:meth:`_write`, :meth:`_read`) and its clock."""

    #: appended to the SELECT that loads a row to change it (PostgreSQL locks it; SQLite's transaction already does)
    _LOCK_ROW: str = ""
    _clock: Callable[[], float]

    @property
    @abc.abstractmethod
    def location(self) -> str:
        """Where the journal is, for messages: a file path, or a URL without its password."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection(s); safe to call twice."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"  # the location has no secret (a URL's password is masked)

    def __enter__(self: _Journal) -> _Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing --

    def _load(self, run: Run, local_id: str) -> JobRecord:
        rows = run(f"{_SELECT} WHERE id = ?{self._LOCK_ROW}", (local_id,))
        if not rows:
            raise UnknownJobError(f"no journaled job has the local id {local_id!r}")
        return to_record(rows[0])

    def _apply(self, local_id: str, kind: str, decide: Callable[[JobRecord], dict[str, Any]]) -> JobRecord:
        """Load, let ``decide`` name the new field values, store and log only the fields that really change."""
        with self._write() as run:
            current = self._load(run, local_id)
            proposed = decide(current)
            changes = {k: v for k, v in proposed.items() if not same(k, getattr(current, k), v)}
            if not changes:
                return current
            now = self._clock()
            assignments = ", ".join(f"{k} = ?" for k in changes)
            values = [dumps(v, k) if k in JSON_COLUMNS and v is not None else v for k, v in changes.items()]
            run(f"UPDATE jobs SET {assignments}, updated_at = ? WHERE id = ?", (*values, now, local_id))
            phase = changes.get("phase", current.phase)
            run(
                "INSERT INTO events (job_id, at, kind, phase, changes) VALUES (?, ?, ?, ?, ?)",
                (local_id, now, kind, phase, dumps(changes, "changes")),
            )
            return replace_record(current, updated_at=now, **changes)

    def _new_record(
        self,
        provider: str,
        request: Mapping[str, Any],
        wire: Mapping[str, Any],
        base_url: str | None,
        label: str | None,
        mock: bool,
    ) -> JobRecord:
        now = self._clock()
        return JobRecord(
            id=uuid.uuid4().hex,
            provider=provider,
            fingerprint=fingerprint(wire),
            phase="intent",
            created_at=now,
            updated_at=now,
            base_url=redact_url(base_url) if base_url is not None else None,
            request=clean(request, "request"),
            wire=clean(wire, "wire"),
            label=redact_text(label) if label is not None else None,
            mock=bool(mock),
        )

    @staticmethod
    def _insert(run: Run, record: JobRecord) -> None:
        row = [dumps(v, k) if k in JSON_COLUMNS and v is not None else v for k, v in fields(record)]
        run(f"INSERT INTO jobs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})", row)
        run(
            "INSERT INTO events (job_id, at, kind, phase, changes) VALUES (?, ?, 'intent', 'intent', ?)",
            (record.id, record.created_at, dumps({"phase": "intent"}, "changes")),
        )

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
        record = self._new_record(provider, request, wire, base_url, label, mock)
        with self._write() as run:
            self._insert(run, record)
        return record

    def record_intent_once(
        self,
        key: str,
        provider: str,
        request: Mapping[str, Any],
        wire: Mapping[str, Any],
        *,
        window: float = DEFAULT_IDEMPOTENCY_WINDOW_S,
        base_url: str | None = None,
        label: str | None = None,
        mock: bool = False,
        request_fingerprint: str | None = None,
    ) -> tuple[JobRecord, bool]:
        """Like :meth:`record_intent` under an idempotency ``key``: ``(record, True)`` for a new job, or
        ``(first, False)`` when a job journaled under ``key`` is unfinished or was submitted less than ``window``
        seconds ago (a rejected one does not count: it was never paid). One answer per key, across every worker.

        ``request_fingerprint`` names the request the key is given to (default: :func:`request_fingerprint` of
        ``provider``, ``request`` and ``mock``); a key that still answers with a job made for another request raises
        :class:`IdempotencyKeyError` (nothing is recorded: the caller sends nothing)."""
        stored_key = check_idempotency_key(key)
        if not (isinstance(window, (int, float)) and math.isfinite(window) and window >= 0):
            raise ValueError(f"the idempotency window must be a number of seconds >= 0, not {window!r}")
        wanted = request_fingerprint or compute_request_fingerprint(provider, request, mock=mock)
        record = self._new_record(provider, request, wire, base_url, label, mock)
        with self._write() as run:
            first = self._keyed_job(run, stored_key, record.created_at, window)
            if first is not None:
                refuse_other_request(key, first, wanted)
                return first[0], False
            self._insert(run, record)
            run(
                "INSERT INTO idempotency (key, job_id, created_at, request_fingerprint) VALUES (?, ?, ?, ?)",
                (stored_key, record.id, record.created_at, wanted),
            )
        return record, True

    def check_idempotency(
        self, key: str, request_fingerprint: str, *, window: float = DEFAULT_IDEMPOTENCY_WINDOW_S
    ) -> JobRecord | None:
        """The job ``key`` answers with now (None: the key is free), or :class:`IdempotencyKeyError` when that job was
        made for another request: asked before local files are uploaded, so that a conflict sends nothing at all.
        :meth:`record_intent_once` decides again, in the transaction that records the submit."""
        stored_key = check_idempotency_key(key)
        with self._write() as run:
            first = self._keyed_job(run, stored_key, self._clock(), window, drop_stale=False)
        if first is None:
            return None
        refuse_other_request(key, first, request_fingerprint)
        return first[0]

    def _keyed_job(
        self, run: Run, stored_key: str, now: float, window: float, *, drop_stale: bool = True
    ) -> tuple[JobRecord, str | None] | None:
        """The job (and the request fingerprint stored with it) that ``stored_key`` answers with, under the key's lock;
        None when there is none, or it was rejected (never paid), or it finished more than ``window`` seconds ago."""
        self._prepare_leases(run)
        self._prepare_idempotency(run)
        self._lock_key(run, stored_key)
        rows = run("SELECT job_id, request_fingerprint FROM idempotency WHERE key = ?", (stored_key,))
        if not rows:
            return None
        with contextlib.suppress(UnknownJobError):
            first = self._load(run, rows[0][0])
            if first.phase != "rejected" and (not first.finished or now - first.created_at < window):
                return first, rows[0][1]
        if drop_stale:
            run("DELETE FROM idempotency WHERE key = ?", (stored_key,))
        return None

    def _prepare_idempotency(self, run: Run) -> None:
        """Add ``request_fingerprint`` to an idempotency table made before it existed. Only SQLite's can lack it (its
        side tables are created outside the numbered migrations; PostgreSQL's migration 2 adds it), so the error that
        says so is SQLite's; a statement that fails does not end SQLite's transaction."""
        if getattr(self, "_idempotency_ready", False):
            return
        try:
            run("SELECT request_fingerprint FROM idempotency WHERE 1 = 0")
        except sqlite3.OperationalError:
            run("ALTER TABLE idempotency ADD COLUMN request_fingerprint TEXT")
        self._idempotency_ready = True

    def idempotency_keys(self) -> builtins.list[tuple[str, str, float, str | None]]:
        """Every stored idempotency key: ``(sha256 of the key, job id, created_at, request fingerprint)``."""
        with self._write() as run:  # a write: SQLite creates the table on first use
            self._prepare_leases(run)
            self._prepare_idempotency(run)
            rows = run("SELECT key, job_id, created_at, request_fingerprint FROM idempotency ORDER BY created_at, key")
        return [(str(k), str(j), float(c), None if f is None else str(f)) for k, j, c, f in rows]

    def import_idempotency_keys(self, rows: Sequence[tuple[str, str, float, str | None]]) -> int:
        """Store keys of :meth:`idempotency_keys` (``wan26 jobs migrate``) whose job is here; a key stored already is
        kept as it is. Returns how many were added."""
        added = 0
        with self._write() as run:
            self._prepare_leases(run)
            self._prepare_idempotency(run)
            for key, job_id, created_at, request_fp in rows:
                if run("SELECT 1 FROM idempotency WHERE key = ?", (key,)) or not run(
                    "SELECT 1 FROM jobs WHERE id = ?", (job_id,)
                ):
                    continue
                run(
                    "INSERT INTO idempotency (key, job_id, created_at, request_fingerprint) VALUES (?, ?, ?, ?)",
                    (key, job_id, created_at, request_fp),
                )
                added += 1
        return added

    @abc.abstractmethod
    def _lock_key(self, run: Run, key: str) -> None:
        """Serialise the submits of one key against each other, until the transaction ends."""

    def record_submitted(self, local_id: str, remote_id: str, urls: Mapping[str, str]) -> JobRecord:
        """The provider accepted the job as ``remote_id``; ``urls`` are its status/result/cancel/stream URLs."""
        if not isinstance(remote_id, str) or not remote_id:
            raise ValueError(f"remote_id must be a non-empty string, not {remote_id!r}")
        clean_urls = clean(dict(urls), "urls")

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
        clean_error = clean(dict(error), "error")

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
        clean_error = clean(dict(error), "error") if error is not None else None
        clean_result = clean(dict(result), "result") if result is not None else None

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

    # -- reads --

    def pending_downloads(self) -> builtins.list[JobRecord]:
        """Succeeded jobs whose wanted download is not recorded, oldest first (see :attr:`JobRecord.download_pending`)."""
        sql = (
            f"{_SELECT} WHERE phase = 'succeeded' AND wanted_output IS NOT NULL"
            f" AND output_path IS NULL ORDER BY created_at, {self._ORDER}"
        )
        with self._read() as run:
            return [to_record(row) for row in run(sql)]

    def get(self, ident: str) -> JobRecord:
        """The job whose local id, unique local-id prefix (6+ characters) or remote id is ``ident``."""
        with self._read() as run:
            rows = run(f"{_SELECT} WHERE id = ?", (ident,))
            if rows:
                return to_record(rows[0])
            rows = run(f"{_SELECT} WHERE remote_id = ? ORDER BY created_at DESC LIMIT 5", (ident,))
            if len(rows) == 1:
                return to_record(rows[0])
            if len(rows) > 1:
                raise UnknownJobError(f"remote id {ident!r} matches several journaled jobs ({describe(rows)}); use a local id")
            prefix = ident.lower()
            if len(prefix) < 6:
                raise UnknownJobError(
                    f"no journaled job has the id {ident!r} (a local-id prefix needs 6+ characters; see `wan26 jobs list`)"
                )
            rows = run(  # the range lets the database use the primary key (local ids are lowercase hex)
                f"{_SELECT} WHERE id >= ? AND id < ? AND substr(id, 1, ?) = ? ORDER BY created_at DESC LIMIT 5",
                (prefix, prefix + "g", len(prefix), prefix),
            )
            if len(rows) == 1:
                return to_record(rows[0])
            if len(rows) > 1:
                raise UnknownJobError(
                    f"the prefix {ident!r} matches several journaled jobs ({describe(rows)}); give more characters"
                )
            raise UnknownJobError(f"no journaled job has the local or remote id {ident!r} (journal: {self.location})")

    def list(
        self, *, unfinished: bool = False, provider: str | None = None, limit: int | None = None
    ) -> builtins.list[JobRecord]:
        """Journaled jobs, newest first; ``unfinished`` keeps those not yet succeeded/failed/cancelled/rejected."""
        where: builtins.list[str] = []
        params: builtins.list[Any] = []
        if unfinished:
            where.append(f"phase NOT IN ({', '.join('?' * len(FINISHED_PHASES))})")
            params.extend(sorted(FINISHED_PHASES))
        if provider is not None:
            where.append("provider = ?")
            params.append(provider)
        sql = _SELECT
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY created_at DESC, {self._ORDER} DESC"
        if limit is not None:
            if limit < 0:
                raise ValueError(f"limit must be >= 0, not {limit}")
            sql += " LIMIT ?"
            params.append(limit)
        with self._read() as run:
            return [to_record(row) for row in run(sql, params)]

    def events(self, local_id: str) -> builtins.list[dict[str, Any]]:
        """Every recorded change of the job, oldest first: ``{seq, at, kind, phase, changes}``."""
        with self._read() as run:
            self._load_plain(run, local_id)  # a clear error for an unknown id
            rows = run("SELECT seq, at, kind, phase, changes FROM events WHERE job_id = ? ORDER BY seq", (local_id,))
        return [{"seq": s, "at": at, "kind": k, "phase": p, "changes": json.loads(c)} for s, at, k, p, c in rows]

    def _load_plain(self, run: Run, local_id: str) -> JobRecord:
        rows = run(f"{_SELECT} WHERE id = ?", (local_id,))
        if not rows:
            raise UnknownJobError(f"no journaled job has the local id {local_id!r}")
        return to_record(rows[0])

    def import_job(self, record: JobRecord, events: Sequence[Mapping[str, Any]]) -> bool:
        """Store a job and its events as they are (``wan26 jobs migrate``); False when the id is there already."""
        with self._write() as run:
            if run("SELECT 1 FROM jobs WHERE id = ?", (record.id,)):
                return False
            row = [dumps(v, k) if k in JSON_COLUMNS and v is not None else v for k, v in fields(record)]
            run(f"INSERT INTO jobs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})", row)
            for event in events:
                run(
                    "INSERT INTO events (job_id, at, kind, phase, changes) VALUES (?, ?, ?, ?, ?)",
                    (record.id, event["at"], event["kind"], event["phase"], dumps(event["changes"], "changes")),
                )
        return True
