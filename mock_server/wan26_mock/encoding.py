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
from dataclasses import dataclass
from typing import Any

from wan26core.dialect import MockResponse

__all__ = ["EncodedResponse", "Wire", "encoded", "to_wire"]

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
