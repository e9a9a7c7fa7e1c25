"""Capture live exchanges from httpx and make them fit to be written: no key, no signed-URL token.

:class:`Capture` is an httpx response hook: every answer becomes an exchange in the recording format
(``contracts/schema/recording.schema.json``), labelled with the step under way. :func:`scrub_exchange`
applies :func:`wan26core.drift._recordings.scrub_headers` / :func:`~wan26core.drift._recordings.scrub` (credentials by
name), then replaces every query value of every URL in a body or header (signed output URLs: OSS
``Signature``/``Expires``/``OSSAccessKeyId``, S3 ``X-Amz-*``, CDN tokens of any name), then the key itself
wherever it still appears.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from wan26core._sse import iter_sse
from wan26core.drift._recordings import REDACTED, scrub, scrub_headers

__all__ = ["Capture", "scrub_exchange"]

_URL = re.compile(r"https?://[^\s\"'<>]+", re.IGNORECASE)
#: answers that mean the key was refused
KEY_REFUSED = (401, 403)


class Capture:
    """An httpx response hook that turns every answer into a scrubbed exchange, labelled with the current step."""

    def __init__(self, base_url: str, key: str, source: str) -> None:
        self.key, self.source = key, source
        self.exchanges: list[dict[str, Any]] = []
        self.action, self.note = "error", ""
        self.base_path = urlsplit(base_url).path.rstrip("/")
        self.refused_key = False

    @contextlib.contextmanager
    def step(self, action: str, note: str) -> Iterator[None]:
        self.action, self.note = action, note
        yield

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        if response.status_code in KEY_REFUSED:
            self.refused_key = True
        self.exchanges += [scrub_exchange(e, self.key) for e in self.captured(response)]

    def captured(self, response: httpx.Response) -> list[dict[str, Any]]:
        """The exchange(s) of one answer, as sent and received; a status stream gives one per event."""
        request = response.request
        url = httpx.URL(scrub(str(request.url)))
        path = url.path
        if self.base_path and path.startswith(self.base_path + "/"):
            path = path[len(self.base_path) :]
        sent: dict[str, Any] = {
            "method": request.method,
            "path": path,
            "query": dict(url.params.items()),
            "headers": dict(request.headers.items()),
        }
        if request.content:
            sent["body"] = _parse(request.content)
        bodies = [_parse(response.content)]
        if self.action == "stream" and isinstance(bodies[0], str):
            bodies = [_parse(data.encode()) for data in _sse_data(bodies[0])] or bodies
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return [
            {
                "action": self.action,
                "request": sent,
                "response": {"status": response.status_code, "headers": dict(response.headers.items()), "body": body},
                "note": self.note,
                "source": self.source,
                "recorded_at": now,
                "origin": "live",
            }
            for body in bodies
        ]


def scrub_exchange(exchange: Mapping[str, Any], key: str) -> dict[str, Any]:
    """An exchange fit to be written: credentials and signed-URL query values gone, the key nowhere."""
    out = dict(exchange)
    for part in ("request", "response"):
        side = out.get(part)
        if not isinstance(side, Mapping):
            continue
        clean = dict(side)
        clean["headers"] = _signed_urls(scrub_headers(side.get("headers")))
        if "body" in clean:
            clean["body"] = _signed_urls(scrub(side["body"]))
        out[part] = clean
    clean_exchange: dict[str, Any] = _without(out, key)
    return clean_exchange


def _signed_urls(value: Any) -> Any:
    """Every query value of every URL in ``value`` replaced: output URLs are signed (OSS, S3, CDN tokens)."""
    if isinstance(value, str):
        return _URL.sub(lambda m: _redact_query(m.group(0)), value) if "?" in value else value
    if isinstance(value, list):
        return [_signed_urls(v) for v in value]
    if isinstance(value, dict):
        return {k: _signed_urls(v) for k, v in value.items()}
    return value


def _redact_query(url: str) -> str:
    head, sep, query = url.partition("?")
    if not sep:
        return url
    fragment = ""
    if "#" in query:
        query, fragment = query.split("#", 1)
        fragment = "#" + fragment
    pairs = [p.split("=", 1)[0] + f"={REDACTED}" if "=" in p else p for p in query.split("&")]
    return f"{head}?{'&'.join(pairs)}{fragment}"


def _without(value: Any, key: str) -> Any:
    """``value`` with the key (and its URL-encoded form) replaced wherever it sits."""
    forms = {f for f in (key, quote(key, safe="")) if len(f) >= 4}
    if isinstance(value, str):
        for form in forms:
            value = value.replace(form, REDACTED)
        return value
    if isinstance(value, list):
        return [_without(v, key) for v in value]
    if isinstance(value, dict):
        return {_without(k, key): _without(v, key) for k, v in value.items()}
    return value


def _parse(raw: bytes) -> Any:
    if not raw:
        return ""
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def _sse_data(text: str) -> list[str]:
    """The ``data`` of every event of a server-sent-events body, as the client runtime decodes them."""
    return list(iter_sse(iter([*text.splitlines(), ""])))
