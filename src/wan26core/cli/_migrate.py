"""``wan26 jobs migrate --from journal.sqlite3 --to postgresql://…``: copy every job of one journal, with its events and
its idempotency keys, into another (a team moving a worker's SQLite file into the shared PostgreSQL journal). Run it
again at will: a job or key already in the target is left as it is there. Leases are not copied: they last seconds
and name processes of the old journal (docs/journal.md).

A SQLite source is only read: it must exist and be a wan26 journal, it is opened read-only and copied (SQLite's backup)
into a temporary file, which is what is read. An error names the ``--from`` or ``--to`` journal it concerns."""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from urllib.parse import quote

if TYPE_CHECKING:
    from wan26core._journal_base import JournalBase
    from wan26core._plugins import Registry

__all__ = ["cmd_jobs_migrate"]


def cmd_jobs_migrate(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    from wan26core._journal import is_postgres_url
    from wan26core.cli import UsageError

    if args.source == args.target:
        raise UsageError("--from and --to name the same journal")
    if not is_postgres_url(args.source):
        _check_sqlite_source(_sqlite_path(args.source))
    else:
        _check_postgres_source(args.source)
    source_name = None if is_postgres_url(args.source) else str(_sqlite_path(args.source))
    with _opened(args.source, "--from") as source, _opened(args.target, "--to") as target:
        with _naming(source_name, "--from"):
            records = list(reversed(source.list()))  # oldest first: the target lists them in the same order
            jobs = [(record, source.events(record.id)) for record in records]
            keys = source.idempotency_keys()
        with _naming(target.location, "--to"):
            copied = sum(target.import_job(record, events) for record, events in jobs)
            keys_copied = target.import_idempotency_keys(keys)
        where = f"from {source_name or source.location} to {target.location}"
        out.write(
            f"copied {copied} job(s) {where}"
            + (f"; {len(records) - copied} were there already and were kept" if copied < len(records) else "")
            + (f"; {keys_copied} idempotency key(s)" if keys else "")
            + (f" ({len(keys) - keys_copied} were there already)" if keys_copied < len(keys) else "")
            + "\n"
        )
    return 0


def _sqlite_path(text: str) -> Path:
    return Path(text[len("sqlite://") :] if text.startswith("sqlite:///") else text)


def _check_sqlite_source(path: Path) -> None:
    """The --from file exists and is a wan26 journal this wan26 can read: checked read-only, so nothing is written."""
    from wan26core._journal_schema import SCHEMA_VERSION
    from wan26core.cli import UsageError

    if not path.exists():
        raise UsageError(f"--from {path}: no such journal file (nothing was copied)")
    if not path.is_file():
        raise UsageError(f"--from {path}: not a journal file (a directory or a device)")
    try:
        with contextlib.closing(_read_only(path)) as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"--from {path} cannot be read as a journal ({exc}); nothing was copied or changed") from None
    if version < 1 or not {"jobs", "events"} <= tables:
        raise UsageError(
            f"--from {path} is a SQLite database but not a wan26 journal (no jobs/events tables); it was left unchanged"
        )
    if version > SCHEMA_VERSION:
        raise UsageError(
            f"--from {path} has journal schema version {version}, newer than this wan26 understands ({SCHEMA_VERSION});"
            " upgrade wan26 to migrate it"
        )


def _check_postgres_source(url: str) -> None:
    """A --from database that has no wan26 journal is refused before the journal would create its tables there. A
    database that cannot be reached is left to the journal to report (it words that, without the password)."""
    from wan26core._redaction import redact_url
    from wan26core.cli import UsageError

    try:
        import psycopg
    except ImportError:
        return  # the journal says which extra is missing
    try:
        with psycopg.connect(url, connect_timeout=10, autocommit=True) as conn:
            row = conn.execute("SELECT to_regclass('wan26_schema') IS NOT NULL").fetchone()
    except psycopg.Error:
        return
    if row is None or not row[0]:
        raise UsageError(f"--from {redact_url(url)} holds no wan26 journal (no wan26_schema table); nothing was copied")


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)


@contextlib.contextmanager
def _opened(text: str, flag: str) -> Iterator[JournalBase]:
    """The journal ``text`` names; a SQLite --from as a temporary copy of it (an older schema is migrated there)."""
    from wan26core._journal import Journal, is_postgres_url, open_journal

    if flag == "--from" and not is_postgres_url(text):
        path = _sqlite_path(text)
        with tempfile.TemporaryDirectory(prefix="wan26-migrate-") as folder:
            copy = Path(folder) / "journal.sqlite3"
            with _naming(str(path), flag):
                with contextlib.closing(_read_only(path)) as src, contextlib.closing(sqlite3.connect(copy)) as dst:
                    src.backup(dst)
                copied: JournalBase = Journal(copy)
            try:
                yield copied
            finally:
                copied.close()
        return
    with _naming(text if not is_postgres_url(text) else None, flag):
        journal = open_journal(text)
    try:
        yield journal
    finally:
        journal.close()


@contextlib.contextmanager
def _naming(where: str | None, flag: str) -> Iterator[None]:
    """A journal error as a usage error that names the journal (--from or --to) it came from, not the default one."""
    from wan26core._journal_base import JournalError
    from wan26core._redaction import redact_url
    from wan26core.cli import UsageError

    try:
        yield
    except (JournalError, sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if where is None or redact_url(where) in detail or where in detail:  # the message names it already
            raise UsageError(f"{flag}: {detail}") from None
        raise UsageError(f"{flag} {where}: {detail}") from None
    except OSError as exc:
        raise UsageError(f"{flag} {where or ''}: {exc.strerror or exc}".replace("  ", " ")) from None
