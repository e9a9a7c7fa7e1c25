"""Where the journal lives (:func:`default_journal_path`) and its SQLite schema, as migrations: migration N brings
``user_version`` from N-1 to N. Append, never edit."""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["FILE_NAME", "MIGRATIONS", "SCHEMA_VERSION", "default_journal_path"]


#: Migration N (1-based) brings user_version from N-1 to N. Append, never edit.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            provider TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            phase TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            remote_id TEXT,
            urls TEXT NOT NULL,
            base_url TEXT,
            request TEXT NOT NULL,
            wire TEXT NOT NULL,
            queue_position INTEGER,
            progress REAL,
            last_log TEXT,
            error TEXT,
            result TEXT,
            output_path TEXT,
            label TEXT
        )""",
        "CREATE INDEX jobs_remote_id ON jobs (remote_id)",
        "CREATE INDEX jobs_created ON jobs (created_at)",
        "CREATE INDEX jobs_phase ON jobs (phase)",
        """CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            at REAL NOT NULL,
            kind TEXT NOT NULL,
            phase TEXT NOT NULL,
            changes TEXT NOT NULL
        )""",
        "CREATE INDEX events_job ON events (job_id, seq)",
    ),
    (  # 2: where the user asked the video to go, so that `jobs resume` can finish a download a crash cut short
        "ALTER TABLE jobs ADD COLUMN wanted_output TEXT",
        "ALTER TABLE jobs ADD COLUMN wanted_overwrite INTEGER NOT NULL DEFAULT 0",
    ),
    (  # 3: jobs of the embedded mock live in the same journal, marked, so that no command confuses them with paid ones
        "ALTER TABLE jobs ADD COLUMN mock INTEGER NOT NULL DEFAULT 0",
        # the embedded mock's base URL (wan26core.cli._jobs.EMBEDDED_BASE_URL) names the mock jobs journaled before
        # (they were kept in a journal of their own, embedded-mock.sqlite3, which `--journal` still opens)
        "UPDATE jobs SET mock = 1 WHERE base_url = 'http://wan26-embedded-mock.invalid'",
    ),
)


SCHEMA_VERSION = len(MIGRATIONS)


FILE_NAME = "journal.sqlite3"


def default_journal_path() -> Path:
    """``$WAN26_HOME/journal.sqlite3``, else the platform's per-user data directory + ``wan26/journal.sqlite3``."""
    home = os.environ.get("WAN26_HOME")
    if home:
        return Path(home).expanduser() / FILE_NAME
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "wan26" / FILE_NAME
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "wan26" / FILE_NAME
    xdg = os.environ.get("XDG_DATA_HOME", "")
    base_dir = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "share"  # the XDG spec ignores relative
    return base_dir / "wan26" / FILE_NAME
