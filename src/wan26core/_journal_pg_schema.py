"""The PostgreSQL journal's schema, as migrations: migration N brings ``wan26_schema``'s highest version from N-1 to
N. Append, never edit. The columns mirror the SQLite file's (:mod:`wan26core._journal_schema`) so that both backends
store the same text; ``n`` keeps insertion order (SQLite's ``rowid``)."""

from __future__ import annotations

__all__ = ["PG_MIGRATIONS", "PG_SCHEMA_VERSION"]


PG_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE wan26_schema (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)",
        """CREATE TABLE jobs (
            n BIGSERIAL UNIQUE,
            id TEXT PRIMARY KEY,
            provider TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            phase TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL,
            remote_id TEXT,
            urls TEXT NOT NULL,
            base_url TEXT,
            request TEXT NOT NULL,
            wire TEXT NOT NULL,
            queue_position INTEGER,
            progress DOUBLE PRECISION,
            last_log TEXT,
            error TEXT,
            result TEXT,
            output_path TEXT,
            label TEXT,
            wanted_output TEXT,
            wanted_overwrite BOOLEAN NOT NULL DEFAULT FALSE,
            mock BOOLEAN NOT NULL DEFAULT FALSE
        )""",
        "CREATE INDEX jobs_remote_id ON jobs (remote_id)",
        "CREATE INDEX jobs_created ON jobs (created_at)",
        "CREATE INDEX jobs_phase ON jobs (phase)",
        """CREATE TABLE events (
            seq BIGSERIAL PRIMARY KEY,
            job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            at DOUBLE PRECISION NOT NULL,
            kind TEXT NOT NULL,
            phase TEXT NOT NULL,
            changes TEXT NOT NULL
        )""",
        "CREATE INDEX events_job ON events (job_id, seq)",
        # who works on a job now (`jobs resume`, `jobs download` on several machines), until when (server time)
        """CREATE TABLE leases (
            job_id TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
            holder TEXT NOT NULL,
            expires_at DOUBLE PRECISION NOT NULL
        )""",
        # the job that answers a submit's idempotency key (off unless a submit gives one)
        """CREATE TABLE idempotency (
            key TEXT PRIMARY KEY,
            job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            created_at DOUBLE PRECISION NOT NULL
        )""",
    ),
    (  # 2: what request an idempotency key was given to (provider + canonical request), so that a key reused for
        # another request is refused instead of answering with the first job; NULL for keys stored before
        "ALTER TABLE idempotency ADD COLUMN request_fingerprint TEXT",
    ),
)


PG_SCHEMA_VERSION = len(PG_MIGRATIONS)
