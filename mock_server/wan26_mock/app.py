"""The Starlette app around the engine: one catch-all route, the engine decides the rest."""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wan26core import Registry
from wan26core.dialect import MockRequest, MockResponse

from .engine import MAX_BODY_BYTES, Engine
from .jobs import Profile

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
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES + 1:  # keep memory bounded: the engine only needs to know it is too big
            break
        chunks.append(chunk)
    return b"".join(chunks)


def to_starlette(response: MockResponse) -> Response:
    headers = dict(response.headers)
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
