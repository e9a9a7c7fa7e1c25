"""The two drivers of the job lifecycle: they perform the effects an operation of :mod:`wan26core._runtime` yields.

:func:`run_sync` uses ``httpx.Client`` and ``time.sleep``, :func:`run_async` ``httpx.AsyncClient`` and ``asyncio.sleep``.
This is the only code written twice for the two clients, because it is the only code that does I/O: each effect is
one call of the client's own kind (httpx's sync and async APIs cannot share a body)."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from wan26core._protocol import HttpReply

if TYPE_CHECKING:
    pass
from wan26core._runtime import CloseStream, NextEvent, Op, OpenStream, Send, Sleep
from wan26core._sse import aiter_sse, iter_sse

__all__ = ["run_async", "run_sync"]

T = TypeVar("T")


# --- drivers ---------------------------------------------------------------------------------------
def _reply(response: httpx.Response) -> HttpReply:
    return HttpReply(
        response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content, str(response.url)
    )


class _SyncStream:
    def __init__(self, manager: contextlib.AbstractContextManager[httpx.Response], response: httpx.Response) -> None:
        self.manager, self.response = manager, response
        self.events: Iterator[str] = iter_sse(response.iter_lines())


class _AsyncStream:
    def __init__(self, manager: contextlib.AbstractAsyncContextManager[httpx.Response], response: httpx.Response) -> None:
        self.manager, self.response = manager, response
        self.events: AsyncIterator[str] = aiter_sse(response.aiter_lines())


def _timeout(http: httpx.Client | httpx.AsyncClient, effect: OpenStream) -> httpx.Timeout:
    base = http.timeout
    if effect.read_timeout is None:
        return base
    read = effect.read_timeout if base.read is None else min(base.read, effect.read_timeout)
    return httpx.Timeout(connect=base.connect, read=read, write=base.write, pool=base.pool)


def _next_event_by(stream: _SyncStream, deadline: float | None) -> str | None:
    """The stream's next event, or ``httpx.ReadTimeout`` at ``deadline`` (a blocking read would otherwise wait
    through every keep-alive): the read runs in a helper thread, cut off at the deadline."""
    if deadline is None:
        return next(stream.events, None)
    box: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)

    def pull() -> None:
        try:
            box.put((True, next(stream.events, None)))
        except BaseException as exc:  # handed to the waiting thread
            box.put((False, exc))

    threading.Thread(target=pull, name="wan26-stream-read", daemon=True).start()
    try:
        ok, value = box.get(timeout=max(0.0, deadline - time.monotonic()))
    except queue.Empty:
        sock = getattr(stream.response.extensions.get("network_stream"), "get_extra_info", lambda name: None)("socket")
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked read, which then ends
        raise httpx.ReadTimeout("no status event before the wait's deadline") from None
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


def _abandon(op: Op[Any]) -> None:
    """Close an operation the driver gives up on (Ctrl-C, a cancelled task) now, not at garbage collection."""
    with contextlib.suppress(Exception):
        op.close()


def run_sync(op: Op[T], http: httpx.Client, *, sleep: Callable[[float], None] = time.sleep) -> T:
    """Perform ``op``'s effects with a blocking httpx client."""
    outcome: Any = None
    error: BaseException | None = None
    streams: list[Any] = []  # opened and not yet closed by the operation
    try:
        while True:
            try:
                effect = op.throw(error) if error is not None else op.send(outcome)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            outcome, error = None, None
            try:
                if isinstance(effect, Send):
                    call = effect.call
                    outcome = _reply(
                        http.request(call.method, call.url, headers=dict(call.headers), json=call.json, content=call.content)
                    )
                elif isinstance(effect, Sleep):
                    sleep(effect.seconds)
                elif isinstance(effect, OpenStream):
                    call = effect.call
                    manager = http.stream(call.method, call.url, headers=dict(call.headers), timeout=_timeout(http, effect))
                    response = manager.__enter__()
                    if response.status_code != 200:
                        response.read()
                        manager.__exit__(None, None, None)
                        outcome = _reply(response)
                    else:
                        outcome = _SyncStream(manager, response)
                        streams.append(outcome)
                elif isinstance(effect, NextEvent):
                    outcome = _next_event_by(effect.stream, effect.deadline)
                elif isinstance(effect, CloseStream):
                    if effect.stream in streams:
                        streams.remove(effect.stream)
                    with contextlib.suppress(httpx.HTTPError):
                        effect.stream.manager.__exit__(None, None, None)
            except httpx.TransportError as exc:
                error = exc
    except BaseException:
        _abandon(op)
        for stream in streams:
            with contextlib.suppress(Exception):
                stream.manager.__exit__(None, None, None)
        raise


async def run_async(op: Op[T], http: httpx.AsyncClient) -> T:
    """Perform ``op``'s effects with an async httpx client."""
    outcome: Any = None
    error: BaseException | None = None
    streams: list[Any] = []  # opened and not yet closed by the operation
    try:
        while True:
            try:
                effect = op.throw(error) if error is not None else op.send(outcome)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            outcome, error = None, None
            try:
                if isinstance(effect, Send):
                    call = effect.call
                    outcome = _reply(
                        await http.request(
                            call.method, call.url, headers=dict(call.headers), json=call.json, content=call.content
                        )
                    )
                elif isinstance(effect, Sleep):
                    await asyncio.sleep(effect.seconds)
                elif isinstance(effect, OpenStream):
                    call = effect.call
                    manager = http.stream(call.method, call.url, headers=dict(call.headers), timeout=_timeout(http, effect))
                    response = await manager.__aenter__()
                    if response.status_code != 200:
                        await response.aread()
                        await manager.__aexit__(None, None, None)
                        outcome = _reply(response)
                    else:
                        outcome = _AsyncStream(manager, response)
                        streams.append(outcome)
                elif isinstance(effect, NextEvent):
                    if effect.deadline is None:
                        outcome = await anext(effect.stream.events, None)
                    else:
                        try:
                            outcome = await asyncio.wait_for(
                                anext(effect.stream.events, None), max(0.0, effect.deadline - time.monotonic())
                            )
                        except asyncio.TimeoutError:
                            raise httpx.ReadTimeout("no status event before the wait's deadline") from None
                elif isinstance(effect, CloseStream):
                    if effect.stream in streams:
                        streams.remove(effect.stream)
                    with contextlib.suppress(httpx.HTTPError):
                        await effect.stream.manager.__aexit__(None, None, None)
            except httpx.TransportError as exc:
                error = exc
    except BaseException:
        _abandon(op)
        for stream in streams:
            with contextlib.suppress(Exception):
                await stream.manager.__aexit__(None, None, None)
        raise
