"""A journal row as stored and as read back: canonical JSON text for the JSON columns (scrubbed first), the column
order, and the conversions both backends share (:mod:`wan26core._journal_base`)."""

from __future__ import annotations

import builtins
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from wan26core._errors import Wan26Error
from wan26core._job_record import JobRecord, scrub

__all__ = [
    "COLUMNS",
    "JSON_COLUMNS",
    "IdempotencyKeyError",
    "JournalError",
    "UnknownJobError",
    "apply_migrations",
    "clean",
    "describe",
    "dumps",
    "fields",
    "fingerprint",
    "replace_record",
    "same",
    "to_record",
]


class JournalError(Wan26Error):
    """The journal cannot be opened or used (newer schema, closed journal, value that is not JSON)."""


class IdempotencyKeyError(Wan26Error, ValueError):
    """An idempotency key cannot be used: it is empty or not text, or it was given to another request (another
    provider, prompt or option) whose job it still answers; nothing was sent."""


class UnknownJobError(Wan26Error, KeyError):
    """No journaled job matches the identifier (or a prefix matches several); the message says which."""

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


JSON_COLUMNS = frozenset({"urls", "request", "wire", "error", "result"})
COLUMNS = tuple(f for f in JobRecord.__dataclass_fields__)


def fingerprint(wire: Mapping[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of a wire body: sorted keys, no whitespace, UTF-8."""
    return hashlib.sha256(dumps(wire, "wire").encode("utf-8")).hexdigest()


def dumps(value: Any, what: str) -> str:
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise JournalError(f"journal: {what} must be JSON data (str, number, bool, None, list, dict): {exc}") from None


def clean(value: Any, what: str, *, urls: bool = True) -> Any:
    """Scrubbed (see :func:`scrub`) and JSON-normalised (tuples become lists); a clear error for non-JSON data."""
    loaded: Any = json.loads(dumps(scrub(value, urls=urls), what))
    return loaded


def fields(record: JobRecord) -> Iterator[tuple[str, Any]]:
    for name in COLUMNS:
        yield name, getattr(record, name)


def to_record(row: tuple[Any, ...]) -> JobRecord:
    values = dict(zip(COLUMNS, row, strict=True))
    for name in JSON_COLUMNS:
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


def replace_record(record: JobRecord, **changes: Any) -> JobRecord:
    values = dict(fields(record))
    values.update(changes)
    return JobRecord(**values)


def same(name: str, old: Any, new: Any) -> bool:
    """Equal as stored: JSON columns compare by canonical text (``True`` is not ``1`` there), others by value and type."""
    if name in JSON_COLUMNS:
        return dumps(old, name) == dumps(new, name)
    return type(old) is type(new) and bool(old == new)


def describe(rows: builtins.list[tuple[Any, ...]]) -> str:
    records = [to_record(r) for r in rows]
    return ", ".join(f"{r.id} {r.provider}" for r in records)


def apply_migrations(
    found: int, migrations: Sequence[Sequence[str]], execute: Callable[[str], object], mark: Callable[[int], object], newer: str
) -> None:
    """Bring a journal from schema version ``found`` to ``len(migrations)``: each migration's statements, then
    ``mark(number)``; a journal newer than this code is refused with the message ``newer``."""
    if found > len(migrations):
        raise JournalError(newer)
    for number in range(found + 1, len(migrations) + 1):
        for statement in migrations[number - 1]:
            execute(statement)  # our own constant SQL
        mark(number)
