"""Idempotency keys: what a key may be, what it is stored as (its SHA-256), what it is given to (a fingerprint of the
request) and the refusal of a key reused for another request. Shared by both journal backends and the clients."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from wan26core._job_record import JobRecord
from wan26core._journal_rows import IdempotencyKeyError, clean, fingerprint

__all__ = [
    "DEFAULT_IDEMPOTENCY_WINDOW_S",
    "check_idempotency_key",
    "compute_request_fingerprint",
    "refuse_other_request",
    "shown_key",
]

#: A finished job answers a repeated idempotency key for this long after it was submitted (docs/journal.md).
DEFAULT_IDEMPOTENCY_WINDOW_S = 24 * 3600.0


def check_idempotency_key(key: object) -> str:
    """The key as stored (the SHA-256 of its UTF-8 text), or :class:`IdempotencyKeyError` for a key that is not
    non-blank text (an empty key, only spaces, or bytes that are not UTF-8, as a shell can pass)."""
    if not isinstance(key, str) or not key.strip():
        raise IdempotencyKeyError(f"an idempotency key must be non-empty text (not only spaces), not {key!r}")
    try:
        data = key.encode("utf-8")
    except UnicodeEncodeError:
        raise IdempotencyKeyError(
            f"the idempotency key {key.encode('utf-8', 'backslashreplace').decode('ascii', 'backslashreplace')!r}"
            " is not valid UTF-8 text"
        ) from None
    return hashlib.sha256(data).hexdigest()  # whatever a key holds, only its hash is stored


def compute_request_fingerprint(provider: str, request: Mapping[str, Any], *, mock: bool = False) -> str:
    """What an idempotency key is given to: sha256 of the canonical JSON of the provider, the request (as the
    caller gave it, before its local files were uploaded) and whether it runs on a mock."""
    return fingerprint({"provider": provider, "request": clean(dict(request), "request"), "mock": bool(mock)})


def shown_key(key: str) -> str:
    """A key as messages show it: quoted, and cut short when long."""
    return repr(key if len(key) <= 60 else key[:57] + "...")


def refuse_other_request(key: str, first: tuple[JobRecord, str | None], wanted: str) -> None:
    record, stored = first
    if stored is not None and stored != wanted:  # None: a key stored before fingerprints were (it answers as before)
        raise IdempotencyKeyError(
            f"idempotency key {shown_key(key)} was used for another request ({record.provider}"
            f"{' mock' if record.mock else ''} job {record.short_id}); a key answers only the request it was first"
            " given to: use a new key for this one",
            provider=record.provider,
            job_id=record.id,
        )
