"""httpx requests answered by the mock engine in process, no sockets: :class:`EngineBridge`.

``Engine.handle_parts`` is a coroutine, transport-free. An async client awaits it in its own event loop
(:meth:`EngineBridge.ahandle`); a blocking client cannot, so :meth:`EngineBridge.handle` runs it in a private
event loop on a background thread (an anyio blocking portal, started on first use) and waits for the answer.
Streamed answers (fal's status stream, downloads, dropped connections) stay streamed: each chunk is pulled from
the engine when the client reads it, so a status stream follows the virtual clock as it does on a socket.

The request's read timeout (httpx's ``timeout.read``) is honoured as a socket would: no answer (or no chunk) in
time raises ``httpx.ReadTimeout`` while the engine carries on, so a submit that timed out may still create a job.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal

from wan26_mock.encoding import to_wire
from wan26_mock.engine import Engine
from wan26_mock.streams import MockStream
from wan26core._dialect import MockResponse

__all__ = ["EngineBridge"]

T = TypeVar("T")
Parts = tuple[str, str, dict[str, str], dict[str, str], bytes, str]


class EngineBridge:
    """Answer ``httpx.Request`` objects with ``engine``: ``await ahandle(r)`` (async clients) or ``handle(r)``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._portal_cm: AbstractContextManager[BlockingPortal] | None = None
        self._portal: BlockingPortal | None = None
        self._tasks: set[asyncio.Future[Any]] = set()  # answers still being made after a read timeout

    # --- async clients ---------------------------------------------------------------------------
    async def ahandle(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        timeout = _read_timeout(request)
        task = asyncio.ensure_future(self.engine.handle_parts(*_parts(request)))
        if timeout is None:
            answer = await task
        else:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            try:
                answer = await asyncio.wait_for(asyncio.shield(task), timeout)
            except asyncio.TimeoutError:
                raise _timed_out(request, timeout) from None
        if isinstance(answer, MockStream):
            return _streamed(answer, request, _AsyncChunks(answer.chunks(), timeout, request))
        return _plain(answer, request)

    # --- blocking clients ------------------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        request.read()
        timeout = _read_timeout(request)
        answer = self.wait(self.portal().start_task_soon(self.engine.handle_parts, *_parts(request)), timeout, request)
        if isinstance(answer, MockStream):
            return _streamed(answer, request, _SyncChunks(self, answer.chunks(), timeout, request))
        return _plain(answer, request)

    def call(self, func: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run an engine coroutine function from blocking code, in the bridge's event loop."""
        return self.portal().call(func, *args)

    def wait(self, future: concurrent.futures.Future[T], timeout: float | None, request: httpx.Request) -> T:
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            raise _timed_out(request, timeout) from None

    def portal(self) -> BlockingPortal:
        if self._portal is None:
            self._portal_cm = start_blocking_portal(name="wan26-routes-engine")
            self._portal = self._portal_cm.__enter__()
        return self._portal

    def close(self) -> None:
        """Stop the background loop, cancelling what still runs in it (open streams, delayed answers)."""
        portal, manager = self._portal, self._portal_cm
        self._portal = self._portal_cm = None
        if portal is not None and manager is not None:
            with contextlib.suppress(RuntimeError):
                portal.call(portal.stop, True)
            manager.__exit__(None, None, None)
        for task in list(self._tasks):
            task.cancel()


class _SyncChunks(httpx.SyncByteStream):
    """A streamed answer read by a blocking client: each chunk pulled from the bridge's loop."""

    def __init__(self, bridge: EngineBridge, chunks: AsyncIterator[bytes], timeout: float | None, request: httpx.Request) -> None:
        self._bridge, self._chunks, self._timeout, self._request = bridge, chunks, timeout, request

    def __iter__(self) -> Iterator[bytes]:
        while True:
            future = self._bridge.portal().start_task_soon(_next_chunk, self._chunks)
            try:
                chunk = self._bridge.wait(future, self._timeout, self._request)
            except httpx.ReadTimeout:
                future.cancel()
                raise
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        aclose = getattr(self._chunks, "aclose", None)
        if aclose is not None and self._bridge._portal is not None:
            with contextlib.suppress(RuntimeError):  # still running after a timeout, or the loop has stopped
                self._bridge.call(aclose)


class _AsyncChunks(httpx.AsyncByteStream):
    """A streamed answer read by an async client, in its own loop."""

    def __init__(self, chunks: AsyncIterator[bytes], timeout: float | None, request: httpx.Request) -> None:
        self._chunks, self._timeout, self._request = chunks, timeout, request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            try:
                chunk = await asyncio.wait_for(_next_chunk(self._chunks), self._timeout)
            except asyncio.TimeoutError:
                raise _timed_out(self._request, self._timeout) from None
            if chunk is None:
                return
            yield chunk

    async def aclose(self) -> None:
        aclose = getattr(self._chunks, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(RuntimeError):
                await aclose()


async def _next_chunk(chunks: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await chunks.__anext__()
    except StopAsyncIteration:
        return None


def _parts(request: httpx.Request) -> Parts:
    """The request as the ASGI app hands it to the engine: path, query (last value wins), lower-case headers
    (last value wins), body and ``scheme://host[:port]``."""
    url = request.url
    query = dict(parse_qsl(url.query.decode("latin-1"), keep_blank_values=True))
    headers = {name.lower(): value for name, value in request.headers.multi_items()}
    return request.method, url.path, query, headers, request.content, f"{url.scheme}://{url.netloc.decode('ascii')}"


def _read_timeout(request: httpx.Request) -> float | None:
    timeout = request.extensions.get("timeout", {})
    read = timeout.get("read") if isinstance(timeout, dict) else None
    return float(read) if isinstance(read, (int, float)) else None


def _timed_out(request: httpx.Request, timeout: float | None) -> httpx.ReadTimeout:
    return httpx.ReadTimeout(f"wan26 routes: no answer within the read timeout ({timeout} s)", request=request)


def _plain(answer: MockResponse, request: httpx.Request) -> httpx.Response:
    wire = to_wire(answer)
    return httpx.Response(wire.status, headers=list(wire.headers), content=wire.body, request=request)


def _streamed(answer: MockStream, request: httpx.Request, stream: httpx.SyncByteStream | httpx.AsyncByteStream) -> httpx.Response:
    return httpx.Response(answer.status, headers=list(answer.headers.items()), stream=stream, request=request)
