"""An answer as it goes on the wire: status, raw header pairs and body bytes, encoded once.

The ASGI app sends a :class:`Wire` with two ``send`` calls. The engine keeps the :class:`EncodedResponse` of a
status poll while the job's phase holds, so a repeated poll costs no rendering and no JSON encoding at all.
The rules are Starlette's ``Response`` (which served these answers before): JSON bodies compact with an
``application/json`` type, ``str`` bodies as UTF-8 ``text/plain``, ``content-length`` unless given or not allowed.
JSON is strict: NaN and infinities are no JSON, so an answer holding one is a bug of the mock, reported as such (a
500 with ``x-wan26-mock-bug``) instead of sent as ``NaN`` that clients cannot parse.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from wan26core._dialect import MockResponse

__all__ = ["EncodedResponse", "IdSpots", "Wire", "encoded", "id_spots", "reissued", "to_wire"]

_NO_LENGTH = (204, 304)  # no body allowed, so no content-length (nor below 200)


@dataclass(frozen=True)
class Wire:
    """What goes on the wire: ``headers`` as ASGI raw pairs (lower-case names, latin-1)."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    is_json: bool  # the body is the JSON encoding of the answer's body (the journal decodes it back)


@dataclass(frozen=True)
class EncodedResponse(MockResponse):
    """A :class:`MockResponse` with its :class:`Wire` form; shared between requests, so never mutate its body."""

    wire: Wire = Wire(500, (), b"", False)


def encoded(response: MockResponse) -> EncodedResponse:
    """``response`` with its wire form attached."""
    return EncodedResponse(response.status, response.body, response.headers, to_wire(response))


def to_wire(response: MockResponse) -> Wire:
    """Encode a (non-streamed) answer."""
    if isinstance(response, EncodedResponse):
        return response.wire
    headers = {name.lower(): value for name, value in response.headers.items()}
    body: Any = response.body
    is_json = False
    if isinstance(body, (bytes, bytearray)):
        content = bytes(body)
    elif isinstance(body, str):
        content = body.encode()
        headers.setdefault("content-type", "text/plain; charset=utf-8")
    elif body is None and response.status in _NO_LENGTH:
        content = b""
    else:
        try:
            content = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
        except ValueError as exc:  # NaN or an infinity somewhere: never sent as invalid JSON
            return to_wire(MockResponse(500, {"detail": f"wan26 mock internal error: {exc}"}, {"x-wan26-mock-bug": "1"}))
        headers.setdefault("content-type", "application/json")
        is_json = True
    if "content-length" not in headers and response.status >= 200 and response.status not in _NO_LENGTH:
        headers["content-length"] = str(len(content))
    raw = tuple((name.encode("latin-1"), str(value).encode("latin-1")) for name, value in headers.items())
    return Wire(response.status, raw, content, is_json)


@dataclass(frozen=True)
class IdSpots:
    """Where an answer holds the id of the request it answered (see :func:`id_spots`)."""

    request_id: str
    paths: tuple[tuple[Any, ...], ...]  # keys/indexes down the body to each string holding the id
    in_headers: bool


def id_spots(response: EncodedResponse, request_id: str) -> IdSpots | None:
    """Where ``response`` holds ``request_id``, the id drawn for the request it answers; None when nowhere."""
    if not request_id:
        return None
    needle = request_id.encode("latin-1")
    in_headers = any(needle in value for _, value in response.wire.headers)
    if needle not in response.wire.body and not in_headers:
        return None
    return IdSpots(request_id, tuple(_paths(response.body, request_id, ())), in_headers)


def reissued(response: EncodedResponse, spots: IdSpots | None, new: str) -> EncodedResponse:
    """A reused answer for another request: the id of the request it was made for (at ``spots``) replaced by
    ``new``, in the bytes sent and in the data alike. Both are UUIDs, so every length stays right."""
    if spots is None or not new or new == spots.request_id:
        return response
    old = spots.request_id
    before, after = old.encode("latin-1"), new.encode("latin-1")
    wire = response.wire
    body = response.body
    for path in spots.paths:
        body = _replaced(body, path, old, new)
    headers: Any = response.headers
    raw = wire.headers
    if spots.in_headers:
        headers = {name: value.replace(old, new) for name, value in headers.items()}
        raw = tuple((name, value.replace(before, after)) for name, value in raw)
    return EncodedResponse(response.status, body, headers, Wire(wire.status, raw, wire.body.replace(before, after), wire.is_json))


def _paths(value: Any, needle: str, at: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, str):
        if needle in value:
            yield at
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, needle, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, needle, (*at, index))


def _replaced(value: Any, path: tuple[Any, ...], old: str, new: str) -> Any:
    """``value`` with the string at ``path`` rewritten: the containers on the way copied, the rest shared."""
    if not path:
        return value.replace(old, new)
    key, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, key: _replaced(value[key], rest, old, new)}
    copy = list(value)
    copy[key] = _replaced(copy[key], rest, old, new)
    return copy
