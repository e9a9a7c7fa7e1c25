"""The request journal: every request and response the mock saw, with secrets redacted.

Entries are kept compact: the fields a filter looks at as plain values, everything else (query, headers,
bodies) marshalled into one ``bytes`` per entry and decoded only when read. A full journal (10,000 entries)
then costs a few MB and, holding no containers, nothing to the garbage collector, which otherwise walks
every entry again and again under load (long pauses at the 99th percentile of a busy mock).

Request bodies never keep a ``data:`` URI whole: each is kept as its media type, byte count and SHA-256 (see
:mod:`wan26_mock.digests`), also inside JSON; a body still over :data:`MAX_BODY` bytes after that is kept as its size
and SHA-256 only.

Polls repeat themselves, so entries share what they can instead of copying it: an answer already encoded
(``bytes``, such as a status answer the engine reuses) is kept by reference, and identical marshalled
request parts (same query, redacted headers and body) and paths are kept once. Each request then adds
about 200 bytes of new memory instead of a full copy of its exchange, which keeps a busy mock's caches warm.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import marshal
import math
from collections import deque
from collections.abc import Mapping
from typing import Any

from wan26core._dialect import MockRequest, MockResponse, MockStream
from wan26core._redaction import MASK, redact_text, secret_name
from wan26core._redaction import redact_headers as _redact_headers

from .digests import compact_json_bytes
from .encoding import EncodedResponse

__all__ = ["RequestJournal", "journaled_answer", "keeps_body_of", "redact_headers"]

MAX_BODY = 16 * 1024
_SHARED_LIMIT = 4096  # distinct request parts and paths kept for sharing (then the table starts over)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The project's one header redaction (:mod:`wan26core._redaction`): ``Key REDACTED``."""
    return _redact_headers(headers)


def redact_query(query: Mapping[str, str]) -> dict[str, str]:
    """Secret-named parameters, and secret-named parameters of a URL given as a value (fal's ``fal_webhook=``)."""
    return {k: (MASK if v and secret_name(k) else redact_text(v)) for k, v in query.items()}


def _body(raw: bytes | Any) -> Any:
    if isinstance(raw, (bytes, bytearray)):
        if len(raw) > MAX_BODY:
            return _too_big(raw)
        try:  # strict JSON out: NaN, Infinity and 1e400 read back as their text
            return json.loads(raw, parse_constant=str, parse_float=_finite) if raw else None
        except (ValueError, RecursionError):  # RecursionError: nested past the stack
            return raw[:1024].decode("utf-8", "replace")
    return raw


def _finite(text: str) -> float | str:
    value = float(text)
    return value if math.isfinite(value) else text


# An entry: these fields as they are (they are what filters compare), then the rest, marshalled, then the
# answer's bytes when it was bytes (else None: the answer is the marshalled tuple's last item).
_PLAIN = ("seq", "time", "provider", "action", "job_id", "scenario", "method", "path", "status")
_PACKED = ("query", "headers", "body", "response")
_ORDER = (*_PLAIN[:-1], "query", "headers", "body", "status", "response")
_Entry = tuple[Any, ...]


def _raw(value: Any) -> Any:
    """Bytes stay raw (decoded when read) unless too big to keep; anything else is kept as it is."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value) if len(value) <= MAX_BODY else _too_big(value)
    return value


def _request_body(body: bytes) -> Any:
    """A request body as kept: data URIs as digests, then the bytes if small enough, else their size and digest."""
    compact = compact_json_bytes(bytes(body)) if body else b""
    return compact if len(compact) <= MAX_BODY else _too_big(body)


def _too_big(value: bytes | bytearray) -> dict[str, Any]:
    return {"truncated": True, "size": len(value), "sha256": hashlib.sha256(value).hexdigest()}


def _pack(packed: tuple[Any, ...]) -> bytes:
    try:
        return marshal.dumps(packed)
    except ValueError:  # an answer holding something marshal cannot: keep what its JSON form says
        return marshal.dumps((*packed[:-1], json.loads(json.dumps(packed[-1], default=repr))))


class RequestJournal:
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
        parts: tuple[Any, ...] = (redact_query(query) if query else {}, redact_headers(headers), _request_body(body))
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

    def page(self, *, after: int = 0, limit: int, **filters: str | None) -> tuple[list[dict[str, Any]], int, bool]:
        """Up to ``limit`` entries matching ``filters`` (fields kept as plain values) whose ``seq`` is above ``after``,
        oldest first; how many entries match in all; whether more follow the page. Only the page is unpacked."""
        wanted = {_PLAIN.index(k): v for k, v in filters.items() if v is not None and k in _PLAIN}
        out: list[dict[str, Any]] = []
        total = 0
        more = False
        for entry in self._entries:
            if all(str(entry[i]) == v for i, v in wanted.items()):
                total += 1
                if entry[0] > after:
                    if len(out) < limit:
                        out.append(_unpack(entry))
                    else:
                        more = True
        return out, total, more

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


def journaled_answer(response: MockResponse) -> Any:
    """What the journal keeps of an answer: the body (as the JSON sent, when already encoded), or what kind of
    stream was sent."""
    if isinstance(response, MockStream):
        return {"streamed": response.headers.get("content-type", "application/octet-stream")}
    if isinstance(response, EncodedResponse) and response.wire.is_json and len(response.wire.body) <= MAX_BODY:
        return response.wire.body  # the journal decodes it when read: the same JSON value
    return response.body


def keeps_body_of(request: MockRequest) -> bool:
    """Uploaded bytes stay out of the journal; the JSON of the storage API goes in."""
    return "json" in request.headers.get("content-type", "") or not request.body
