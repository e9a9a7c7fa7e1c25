"""The request journal: every request and response the mock saw, with secrets redacted.

Entries are kept compact: the fields a filter looks at as plain values, everything else (query, headers,
bodies) marshalled into one ``bytes`` per entry and decoded only when read. A full journal (10,000 entries)
then costs a few MB and, holding no containers, nothing to the garbage collector, which otherwise walks
every entry again and again under load (long pauses at the 99th percentile of a busy mock).

Polls repeat themselves, so entries share what they can instead of copying it: an answer already encoded
(``bytes``, such as a status answer the engine reuses) is kept by reference, and identical marshalled
request parts (same query, redacted headers and body) and paths are kept once. Each request then adds
about 200 bytes of new memory instead of a full copy of its exchange, which keeps a busy mock's caches warm.
"""

from __future__ import annotations

import itertools
import json
import marshal
from collections import deque
from collections.abc import Mapping
from typing import Any

from wan26core.redaction import MASK, redact_text, secret_name
from wan26core.redaction import redact_headers as _redact_headers

__all__ = ["Journal", "redact_headers"]

MAX_BODY = 16 * 1024
_SHARED_LIMIT = 4096  # distinct request parts and paths kept for sharing (then the table starts over)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The project's one header redaction (:mod:`wan26core.redaction`): ``Key REDACTED``."""
    return _redact_headers(headers)


def redact_query(query: Mapping[str, str]) -> dict[str, str]:
    """Secret-named parameters, and secret-named parameters of a URL given as a value (fal's ``fal_webhook=``)."""
    return {k: (MASK if v and secret_name(k) else redact_text(v)) for k, v in query.items()}


def _body(raw: bytes | Any) -> Any:
    if isinstance(raw, (bytes, bytearray)):
        if len(raw) > MAX_BODY:
            return {"truncated": True, "size": len(raw)}
        try:
            return json.loads(raw) if raw else None
        except (ValueError, RecursionError):  # RecursionError: nested past the stack
            return raw[:1024].decode("utf-8", "replace")
    return raw


# An entry: these fields as they are (they are what filters compare), then the rest, marshalled, then the
# answer's bytes when it was bytes (else None: the answer is the marshalled tuple's last item).
_PLAIN = ("seq", "time", "provider", "action", "job_id", "scenario", "method", "path", "status")
_PACKED = ("query", "headers", "body", "response")
_ORDER = (*_PLAIN[:-1], "query", "headers", "body", "status", "response")
_Entry = tuple[Any, ...]


def _raw(value: Any) -> Any:
    """Bytes stay raw (decoded when read) unless too big to keep; anything else is kept as it is."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value) if len(value) <= MAX_BODY else {"truncated": True, "size": len(value)}
    return value


def _pack(packed: tuple[Any, ...]) -> bytes:
    try:
        return marshal.dumps(packed)
    except ValueError:  # an answer holding something marshal cannot: keep what its JSON form says
        return marshal.dumps((*packed[:-1], json.loads(json.dumps(packed[-1], default=repr))))


class Journal:
    """A bounded log of exchanges, newest last."""

    def __init__(self, limit: int = 10_000) -> None:
        self._entries: deque[_Entry] = deque(maxlen=limit)
        self._seq = itertools.count(1)
        self._shared: dict[Any, Any] = {}  # value -> the one copy entries keep (marshalled request parts, paths)

    def record(
        self,
        *,
        time: float,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
        status: int,
        response: Any,
        provider: str | None,
        action: str | None,
        job_id: str | None,
        scenario: str | None,
    ) -> None:
        parts: tuple[Any, ...] = (redact_query(query) if query else {}, redact_headers(headers), _raw(body))
        raw = _raw(response) if isinstance(response, (bytes, bytearray)) else None
        if not isinstance(raw, bytes):  # not bytes, or too big to keep: marshalled with the rest
            parts, raw = (*parts, raw if raw is not None else response), None
        packed, path = self._share(_pack(parts)), self._share(path)
        self._entries.append((next(self._seq), time, provider, action, job_id, scenario, method, path, status, packed, raw))

    def _share(self, value: Any) -> Any:
        shared = self._shared.setdefault(value, value)
        if len(self._shared) > _SHARED_LIMIT:
            self._shared.clear()
        return shared

    def entries(self, **filters: str | None) -> list[dict[str, Any]]:
        wanted = {k: v for k, v in filters.items() if v is not None}
        plain = {_PLAIN.index(k): v for k, v in wanted.items() if k in _PLAIN}
        other = {k: v for k, v in wanted.items() if k not in _PLAIN}
        out = []
        for entry in self._entries:
            if all(str(entry[i]) == v for i, v in plain.items()):
                item = _unpack(entry)
                if all(str(item.get(k)) == v for k, v in other.items()):
                    out.append(item)
        return out

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        self._shared.clear()


def _unpack(entry: _Entry) -> dict[str, Any]:
    fields = dict(zip(_PLAIN, entry[:-2], strict=True))
    parts = marshal.loads(entry[-2])
    fields.update(zip(_PACKED, parts if entry[-1] is None else (*parts, entry[-1]), strict=True))
    fields["body"] = _body(fields["body"])
    fields["response"] = _body(fields["response"])
    return {k: fields[k] for k in _ORDER}
