"""An answer as it goes on the wire: status, raw header pairs and body bytes, encoded once.

The ASGI app sends a :class:`Wire` with two ``send`` calls. The engine keeps the :class:`EncodedResponse` of a
status poll while the job's phase holds, so a repeated poll costs no rendering and no JSON encoding at all.
The rules are Starlette's ``Response`` (which served these answers before): JSON bodies compact with an
``application/json`` type, ``str`` bodies as UTF-8 ``text/plain``, ``content-length`` unless given or not allowed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from wan26core.dialect import MockResponse

__all__ = ["EncodedResponse", "Wire", "carries", "encoded", "reissued", "to_wire"]

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
        content = json.dumps(body, separators=(",", ":")).encode()
        headers.setdefault("content-type", "application/json")
        is_json = True
    if "content-length" not in headers and response.status >= 200 and response.status not in _NO_LENGTH:
        headers["content-length"] = str(len(content))
    raw = tuple((name.encode("latin-1"), str(value).encode("latin-1")) for name, value in headers.items())
    return Wire(response.status, raw, content, is_json)


def carries(response: EncodedResponse, request_id: str) -> bool:
    """Whether the answer's bytes (body or headers) hold ``request_id``, the id drawn for the request it answers."""
    if not request_id:
        return False
    needle = request_id.encode("latin-1")
    return needle in response.wire.body or any(needle in value for _, value in response.wire.headers)


def reissued(response: EncodedResponse, old: str, new: str) -> EncodedResponse:
    """A reused answer for another request: its request id ``old`` (when it carries one, see :func:`carries`)
    replaced by ``new``, in the body as sent and as data alike. Both are UUIDs, so every length stays right."""
    if not old or not new or old == new:
        return response
    before, after = old.encode("latin-1"), new.encode("latin-1")
    wire = response.wire
    headers = tuple((name, value.replace(before, after)) for name, value in wire.headers)
    return EncodedResponse(
        response.status,
        _swap(response.body, old, new),
        {name: _swap(value, old, new) for name, value in response.headers.items()},
        replace(wire, headers=headers, body=wire.body.replace(before, after)),
    )


def _swap(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new) if old in value else value
    if isinstance(value, dict):
        return {key: _swap(item, old, new) for key, item in value.items()}
    if isinstance(value, list):
        return [_swap(item, old, new) for item in value]
    return value
