"""The ASGI app around the engine: every HTTP request goes to the engine, the engine decides the rest.

``create_app`` returns a Starlette application (``app.state.engine``, lifespan, Starlette's and httpx's test
clients), but its HTTP requests skip Starlette's routing, ``Request`` and ``Response``: status polls are the
mock's hot path (``bench/mock_poll.py``), so a plain ASGI endpoint reads the request's parts straight from the
scope (the values Starlette's ``Request`` gave), hands them to ``Engine.handle_parts`` and sends the answer
with two ``send`` calls. A :class:`~wan26_mock.streams.MockStream` answer
goes out as a ``StreamingResponse``; when its body raises :class:`~wan26_mock.streams.ConnectionAborted` (the
connection_reset fault) the server drops the connection after the headers, and in process the exception
reaches the client as a transport error.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.datastructures import URL
from starlette.requests import ClientDisconnect
from starlette.responses import StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from wan26core import Registry

from .encoding import to_wire
from .engine import MAX_BODY_BYTES, MAX_UPLOAD_BYTES, Engine
from .jobs import Profile
from .streams import ConnectionAborted, MockStream

__all__ = ["MockApp", "create_app"]

_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
_MEMO_SIZE = 256  # distinct query strings and hosts remembered (bounded: clients choose them)
_NO_QUERY: Mapping[str, str] = MappingProxyType({})
_ODD_PATH = re.compile(r"[?#\\\t\r\n]")  # characters Starlette's URL would escape or drop from a path


def create_app(
    registry: Registry | None = None,
    *,
    seed: int | None = None,
    profile: Profile = "fast",
    time_scale: float = 1.0,
    frozen_clock: bool = False,
    engine: Engine | None = None,
) -> MockApp:
    """A mock of every registered provider that has a dialect; ``app.state.engine`` is the engine."""
    engine = engine or Engine(registry, seed=seed, profile=profile, time_scale=time_scale, frozen_clock=frozen_clock)
    _quiet_injected_resets()
    return MockApp(engine)


class MockApp(Starlette):
    """A Starlette app with one catch-all route. HTTP requests go to it directly unless middleware or exception
    handlers were added to the app, which then see them through Starlette's own stack."""

    def __init__(self, engine: Engine) -> None:
        self.endpoint = MockEndpoint(engine)
        super().__init__(routes=[Route("/{path:path}", self.endpoint, methods=_METHODS)])
        self.state.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.user_middleware and not self.exception_handlers:
            scope["app"] = self
            await self.endpoint(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


class MockEndpoint:
    """The ASGI endpoint: the scope's parts -> ``Engine.handle_parts`` -> ``send``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._queries: dict[bytes, Mapping[str, str]] = {}
        self._base_urls: dict[tuple[str, bytes | None, Any], str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers: dict[str, str] = {}
        host: bytes | None = None
        has_body = False
        declared = 0
        for raw_name, raw_value in scope["headers"]:
            name = raw_name.decode("latin-1").lower()
            headers[name] = raw_value.decode("latin-1")
            if raw_name == b"host" and host is None:  # the first, as Starlette's URL reads it
                host = raw_value
            elif name == "content-length" or name == "transfer-encoding":
                has_body = True
                if name == "content-length" and raw_value.isdigit():
                    declared = int(raw_value)
        path = self._path(scope)
        body, size = b"", 0
        if has_body:
            storage = getattr(self.engine, "storage", None)  # fal's uploads take bigger bodies
            limit = MAX_UPLOAD_BYTES if storage is not None and storage.handles(path) else MAX_BODY_BYTES
            try:
                body, size = await _read_body(receive, limit if declared <= limit else -1)  # announced too big: keep none
            except ClientDisconnect:  # the client went away mid-body: nobody to answer, nothing to log
                return
        parts = (scope["method"], path, self._query(scope.get("query_string", b"")), headers, body, self._base_url(scope, host))
        if size > len(body):  # nothing kept: the engine refuses it by its size
            response = await self.engine.handle_parts(*parts, body_size=size)
        else:
            response = await self.engine.handle_parts(*parts)
        if isinstance(response, MockStream):
            await StreamingResponse(response.chunks(), status_code=response.status, headers=dict(response.headers))(
                scope, receive, send
            )
            return
        wire = to_wire(response)
        await send({"type": "http.response.start", "status": wire.status, "headers": wire.headers})
        await send({"type": "http.response.body", "body": wire.body})

    def _path(self, scope: Scope) -> str:
        path: str = scope["path"]
        if scope.get("root_path") or _ODD_PATH.search(path):
            return URL(scope=scope).path  # rare: exactly what Starlette's request.url.path says
        return path

    def _query(self, raw: bytes) -> Mapping[str, str]:
        """The query (the last of repeated names wins), parsed as Starlette's ``QueryParams``; read-only, as
        requests with the same query string share it."""
        if not raw:
            return _NO_QUERY
        query = self._queries.get(raw)
        if query is None:
            query = MappingProxyType(dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True)))
            if len(self._queries) >= _MEMO_SIZE:
                self._queries.clear()
            self._queries[raw] = query
        return query

    def _base_url(self, scope: Scope, host: bytes | None) -> str:
        """``scheme://host[:port]`` as Starlette's ``request.url`` gives it, remembered per scheme, Host and server."""
        server = scope.get("server")
        key = (scope.get("scheme", "http"), host, tuple(server) if server is not None else None)
        base_url = self._base_urls.get(key)
        if base_url is None:
            headers = [(b"host", host)] if host is not None else []
            url = URL(scope={"type": "http", "scheme": key[0], "server": server, "path": "/", "headers": headers})
            base_url = f"{url.scheme}://{url.netloc}"
            if len(self._base_urls) >= _MEMO_SIZE:
                self._base_urls.clear()
            self._base_urls[key] = base_url
        return base_url


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, int]:
    """The body and its size. Past ``limit`` bytes (-1: from the start) nothing is kept and the rest is read and
    dropped (the client then reads the answer): whatever a client sends, a request holds at most ``limit`` bytes, and
    the engine refuses a body that was too big by its size, without parsing it."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif chunks:
            chunks.clear()
        if not message.get("more_body", False):
            break
    return (b"".join(chunks) if size <= limit else b""), size


class _InjectedReset(logging.Filter):
    """Drops uvicorn's traceback for a connection the mock dropped on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionAborted))


def _quiet_injected_resets() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _InjectedReset) for f in logger.filters):
        logger.addFilter(_InjectedReset())
