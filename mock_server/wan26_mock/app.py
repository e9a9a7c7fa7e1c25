"""The Starlette app around the engine: one catch-all route, the engine decides the rest.

A :class:`~wan26_mock.streams.MockStream` answer becomes a ``StreamingResponse``; when its body raises
:class:`~wan26_mock.streams.ConnectionAborted` (the connection_reset fault) the server drops the
connection after the headers, and in process the exception reaches the client as a transport error.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from wan26core import Registry
from wan26core.dialect import MockRequest, MockResponse

from .engine import MAX_BODY_BYTES, MAX_UPLOAD_BYTES, Engine
from .jobs import Profile
from .streams import ConnectionAborted, MockStream

__all__ = ["create_app"]

_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


def create_app(
    registry: Registry | None = None,
    *,
    seed: int | None = None,
    profile: Profile = "fast",
    time_scale: float = 1.0,
    frozen_clock: bool = False,
    engine: Engine | None = None,
) -> Starlette:
    """A mock of every registered provider that has a dialect; ``app.state.engine`` is the engine."""
    engine = engine or Engine(registry, seed=seed, profile=profile, time_scale=time_scale, frozen_clock=frozen_clock)
    _quiet_injected_resets()

    async def endpoint(request: Request) -> Response:
        body = await _read_body(request)
        incoming = MockRequest(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            base_url=f"{request.url.scheme}://{request.url.netloc}",
        )
        return to_starlette(await engine.handle(incoming))

    app = Starlette(routes=[Route("/{path:path}", endpoint, methods=_METHODS)])
    app.state.engine = engine
    return app


async def _read_body(request: Request) -> bytes:
    chunks = []
    size = 0
    limit = max(MAX_BODY_BYTES, MAX_UPLOAD_BYTES) + 1
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:  # keep memory bounded: the engine only needs to know it is too big
            break
        chunks.append(chunk)
    return b"".join(chunks)


def to_starlette(response: MockResponse) -> Response:
    headers = dict(response.headers)
    if isinstance(response, MockStream):
        return StreamingResponse(response.chunks(), status_code=response.status, headers=headers)
    body: Any = response.body
    if isinstance(body, (bytes, bytearray)):
        content = bytes(body)
    elif isinstance(body, str):
        content = body.encode()
        headers.setdefault("content-type", "text/plain; charset=utf-8")
    elif body is None and response.status in (204, 304):
        content = b""
    else:
        content = json.dumps(body, separators=(",", ":")).encode()
        headers.setdefault("content-type", "application/json")
    return Response(content, status_code=response.status, headers=headers)


class _InjectedReset(logging.Filter):
    """Drops uvicorn's traceback for a connection the mock dropped on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionAborted))


def _quiet_injected_resets() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _InjectedReset) for f in logger.filters):
        logger.addFilter(_InjectedReset())
