"""The two drivers of the job lifecycle: they perform the effects an operation of :mod:`wan26core._runtime` yields.

:func:`run_sync` uses ``httpx.Client`` and ``time.sleep``, :func:`run_async` ``httpx.AsyncClient`` and ``asyncio.sleep``.
Stepping the operation and keeping its open streams is shared (:class:`_Run`); performing each effect is written
twice, because it is the I/O: one call of the client's own kind (httpx's sync and async APIs cannot share a body)."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Generic, TypeVar

import httpx

from wan26core._protocol import HttpReply
from wan26core._runtime import CloseStream, Effect, NextEvent, Op, OpenStream, Send, Sleep
from wan26core._sse import aiter_sse, iter_sse

__all__ = ["run_async", "run_sync"]

T = TypeVar("T")
S = TypeVar("S")


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


async def _next_event_before(stream: _AsyncStream, deadline: float | None) -> str | None:
    """The stream's next event, or ``httpx.ReadTimeout`` at ``deadline``."""
    if deadline is None:
        return await anext(stream.events, None)
    try:
        return await asyncio.wait_for(anext(stream.events, None), max(0.0, deadline - time.monotonic()))
    except asyncio.TimeoutError:
        raise httpx.ReadTimeout("no status event before the wait's deadline") from None


def _abandon(op: Op[Any]) -> None:
    """Close an operation the driver gives up on (Ctrl-C, a cancelled task) now, not at garbage collection."""
    with contextlib.suppress(Exception):
        op.close()


class _Run(Generic[T]):
    """One run of ``op`` without the I/O (what both drivers share): iterating hands out the effects to perform; the
    driver sets ``outcome`` (or ``error``, a transport failure, thrown into the operation) before the next one.
    ``value`` is the operation's result; ``streams`` the streams it opened and has not closed yet."""

    def __init__(self, op: Op[T]) -> None:
        self.op = op
        self.outcome: Any = None
        self.error: BaseException | None = None
        self.streams: list[Any] = []
        self.value: T

    def __iter__(self) -> Iterator[Effect]:
        while True:
            outcome, error = self.outcome, self.error
            self.outcome, self.error = None, None
            try:
                effect = self.op.throw(error) if error is not None else self.op.send(outcome)
            except StopIteration as stop:
                self.value = stop.value
                return
            yield effect

    def opened(self, stream: S) -> S:
        self.streams.append(stream)
        return stream

    def closing(self, stream: Any) -> None:
        if stream in self.streams:
            self.streams.remove(stream)

    def abandon(self) -> list[Any]:
        """Close the operation (the run failed or was interrupted); returns the streams the driver must still close."""
        _abandon(self.op)
        return self.streams


def run_sync(op: Op[T], http: httpx.Client, *, sleep: Callable[[float], None] = time.sleep) -> T:
    """Perform ``op``'s effects with a blocking httpx client."""
    run = _Run(op)
    try:
        for effect in run:
            try:
                run.outcome = _perform_sync(effect, run, http, sleep)
            except httpx.TransportError as exc:
                run.error = exc
    except BaseException:
        for stream in run.abandon():
            with contextlib.suppress(Exception):
                stream.manager.__exit__(None, None, None)
        raise
    return run.value


def _perform_sync(effect: Effect, run: _Run[Any], http: httpx.Client, sleep: Callable[[float], None]) -> Any:
    """Perform one effect with blocking calls; returns its outcome."""
    if isinstance(effect, Send):
        call = effect.call
        return _reply(http.request(call.method, call.url, headers=dict(call.headers), json=call.json, content=call.content))
    elif isinstance(effect, Sleep):
        sleep(effect.seconds)
    elif isinstance(effect, OpenStream):
        call = effect.call
        manager = http.stream(call.method, call.url, headers=dict(call.headers), timeout=_timeout(http, effect))
        response = manager.__enter__()
        if response.status_code == 200:
            return run.opened(_SyncStream(manager, response))
        response.read()
        manager.__exit__(None, None, None)
        return _reply(response)
    elif isinstance(effect, NextEvent):
        return _next_event_by(effect.stream, effect.deadline)
    elif isinstance(effect, CloseStream):
        run.closing(effect.stream)
        with contextlib.suppress(httpx.HTTPError):
            effect.stream.manager.__exit__(None, None, None)
    return None


async def run_async(op: Op[T], http: httpx.AsyncClient) -> T:
    """Perform ``op``'s effects with an async httpx client."""
    run = _Run(op)
    try:
        for effect in run:
            try:
                run.outcome = await _perform_async(effect, run, http)
            except httpx.TransportError as exc:
                run.error = exc
    except BaseException:
        for stream in run.abandon():
            with contextlib.suppress(Exception):
                await stream.manager.__aexit__(None, None, None)
        raise
    return run.value


async def _perform_async(effect: Effect, run: _Run[Any], http: httpx.AsyncClient) -> Any:
    """Perform one effect with awaited calls; returns its outcome."""
    if isinstance(effect, Send):
        call = effect.call
        return _reply(await http.request(call.method, call.url, headers=dict(call.headers), json=call.json, content=call.content))
    elif isinstance(effect, Sleep):
        await asyncio.sleep(effect.seconds)
    elif isinstance(effect, OpenStream):
        call = effect.call
        manager = http.stream(call.method, call.url, headers=dict(call.headers), timeout=_timeout(http, effect))
        response = await manager.__aenter__()
        if response.status_code == 200:
            return run.opened(_AsyncStream(manager, response))
        await response.aread()
        await manager.__aexit__(None, None, None)
        return _reply(response)
    elif isinstance(effect, NextEvent):
        return await _next_event_before(effect.stream, effect.deadline)
    elif isinstance(effect, CloseStream):
        run.closing(effect.stream)
        with contextlib.suppress(httpx.HTTPError):
            await effect.stream.manager.__aexit__(None, None, None)
    return None
