"""Data URIs kept as digests: what the mock stores of a ``data:`` URI is its media type, byte count and SHA-256.

A client may send references as data URIs of tens of megabytes. The mock judges them when they arrive and never needs
their bytes again, so jobs (their wire body and request) and the journal (request bodies, also inside JSON) keep
``data:<media type>;bytes=<decoded size>;sha256=<hex of the decoded bytes>`` instead. That string has no comma, so it
is no data URI itself (nothing can decode it by mistake), yet it still starts with ``data:<media type>``.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from wan26core import GenerationRequest

__all__ = ["LONG_TEXT", "compact_json_bytes", "compact_request", "compact_text", "compact_value", "digest_data_uri"]

_HEAD = re.compile(r"data:(?P<mime>[^;,\"]{0,127})(?P<params>;[^,\"]{0,300})?,", re.IGNORECASE)
_QUOTED_HEAD = re.compile(rb'"data:[^",\\]{0,430},', re.IGNORECASE)  # a JSON string holding a data URI starts so


_MEMO_FROM = 64 * 1024  # data URIs this long are remembered: the job and the journal digest the same one
_MEMO_SIZE = 8
_memo: dict[tuple[int, int], str] = {}


def digest_data_uri(text: str) -> str:
    """``text`` as its digest when it is a data URI (``data:…,``), else ``text`` unchanged."""
    if len(text) < _MEMO_FROM:
        return _digest(text)
    key = (len(text), hash(text))  # str hashes are keyed per process: no crafted collisions
    found = _memo.get(key)
    if found is None:
        found = _memo[key] = _digest(text)
        if len(_memo) > _MEMO_SIZE:
            del _memo[next(iter(_memo))]
    return found


def _digest(text: str) -> str:
    head = _HEAD.match(text, 0, 512)
    if head is None:
        return text
    payload = text[head.end() :]
    data: bytes
    if ";base64" in (head["params"] or "").lower():
        try:
            data = binascii.a2b_base64(payload)
        except (binascii.Error, ValueError):  # not base64 (or not ASCII): the text as sent
            data = payload.encode("utf-8", "surrogatepass")
    else:
        data = unquote_to_bytes(payload)
    mime = head["mime"] or "text/plain"
    return f"data:{mime};bytes={len(data)};sha256={hashlib.sha256(data).hexdigest()}"


#: a string longer than this (a 10 MB "URL") is kept as its head, length and SHA-256: a job costs kilobytes whatever
#: was sent (no provider documents such a URL; the mock has judged it when it arrived and never fetches it)
LONG_TEXT = 8 * 1024


def compact_text(text: str) -> str:
    """``text`` as the job keeps it: a data URI's digest, a huge string's head and digest, else itself."""
    if text[:5].lower() == "data:":
        return digest_data_uri(text)
    if len(text) > LONG_TEXT:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{text[:256]}…[{len(text)} characters; sha256={digest}]"
    return text


def compact_value(value: Any) -> Any:
    """A JSON value with every data URI in it (strings at any depth) replaced by its digest, and every huge string by
    its head and digest."""
    if isinstance(value, str):
        return compact_text(value)
    if isinstance(value, dict):
        return {k: compact_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [compact_value(v) for v in value]
    return value


def compact_request(request: GenerationRequest) -> GenerationRequest:
    """``request`` with its sources (references and their voices, frames, clip, audio) kept as :func:`compact_text`
    keeps them; kinds kept as they were read."""
    if not any(_bulky(source) for source in request.sources()):
        return request  # the usual request: kept as it is
    return request.map_sources(compact_text)


def _bulky(source: str) -> bool:
    return _is_data(source) or len(source) > LONG_TEXT


def compact_json_bytes(raw: bytes) -> bytes:
    """JSON text with every string that holds a data URI replaced by the digest's string; other bytes unchanged.

    Works on the bytes (no parse of the whole document): each ``"data:…,`` string is found, read to its closing quote
    and replaced. Text that is no JSON is left as it is where no such string is found."""
    if b"ata:" not in raw and b"ATA:" not in raw:  # the usual case, found at memchr speed
        return raw
    out: list[bytes] = []
    pos = 0
    while (found := _QUOTED_HEAD.search(raw, pos)) is not None:
        start = found.start()
        end = _string_end(raw, found.end())
        if end < 0:
            break
        span = raw[start + 1 : end]
        try:  # without escapes the text is the bytes themselves (a base64 payload): no JSON parse of megabytes
            text = span.decode("ascii") if b"\\" not in span else json.loads(raw[start : end + 1])
        except ValueError:
            pos = found.end()
            continue
        out.append(raw[pos:start])
        out.append(json.dumps(digest_data_uri(text)).encode())
        pos = end + 1
    if not out:
        return raw
    out.append(raw[pos:])
    return b"".join(out)


def _string_end(raw: bytes, start: int) -> int:
    """The index of the quote that closes the JSON string going on at ``start``; -1 when it never closes."""
    at = start
    while True:
        at = raw.find(b'"', at)
        if at < 0:
            return -1
        backslashes = 0
        while raw[at - 1 - backslashes] == 0x5C:
            backslashes += 1
        if backslashes % 2 == 0:
            return at
        at += 1


def _is_data(source: str) -> bool:
    return source[:5].lower() == "data:"
