"""``wan26 jobs migrate --from journal.sqlite3 --to postgresql://…``: copy every job of one journal, with its events,
into another (a team moving a worker's SQLite file into the shared PostgreSQL journal). Run it again at will: a job
already in the target is left as it is there."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from wan26core._plugins import Registry

__all__ = ["cmd_jobs_migrate"]


def cmd_jobs_migrate(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    from wan26core._journal import open_journal
    from wan26core.cli import UsageError

    if args.source == args.target:
        raise UsageError("--from and --to name the same journal")
    with open_journal(args.source) as source, open_journal(args.target) as target:
        records = list(reversed(source.list()))  # oldest first: the target lists them in the same order
        copied = sum(target.import_job(record, source.events(record.id)) for record in records)
        out.write(
            f"copied {copied} job(s) from {source.location} to {target.location}"
            + (f"; {len(records) - copied} were there already and were kept" if copied < len(records) else "")
            + "\n"
        )
    return 0
