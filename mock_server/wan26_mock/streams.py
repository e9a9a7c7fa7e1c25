"""Streamed answers: server-sent status events paced by the virtual clock, files, and dropped connections.

``Engine.handle`` returns a :class:`MockStream` (a :class:`MockResponse` whose body is an async
iterator of bytes) where the answer is sent piece by piece; the Starlette app turns it into a
``StreamingResponse`` and an in-process caller can iterate it directly.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

import httpx

from wan26core._dialect import MockStream, StreamEvent, file_chunks

from .wakeups import Notifier, WatchedClock

__all__ = ["ConnectionAborted", "MockStream", "aborted", "file_chunks", "status_events"]

_WAKE_MARGIN_S = 0.001  # wake just after a change is due, so that the next snapshot shows it


class ConnectionAborted(httpx.RemoteProtocolError):
    """Raised by a stream to drop the connection before the response is complete (the connection_reset fault).

    On a socket the server closes the connection after the headers, so the client reads an incomplete
    message (httpx: ``RemoteProtocolError``); in process the exception reaches the client as it is, an
    ``httpx.TransportError`` like the one a real reset produces.
    """


async def status_events(
    *,
    render: Callable[[float], StreamEvent],
    next_change: Callable[[float], float | None],
    clock: WatchedClock,
    notifier: Notifier,
    topic: str,
    keepalive: bytes,
    keepalive_s: float,
) -> AsyncIterator[bytes]:
    """Send ``render()`` whenever its bytes change (and are not empty), ``keepalive`` after ``keepalive_s`` real seconds of quiet,
    and stop after a final event. Between changes it sleeps until the job's next change is due on the
    virtual clock or a notification on ``topic`` (or a clock jump) arrives: no polling."""
    last: bytes | None = None
    quiet_until = time.monotonic() + keepalive_s
    while True:
        since = notifier.generation
        now = clock.now()  # one reading for both: a job finishing in between must not look changeless
        event = render(now)
        if event.data and event.data != last:  # empty: the dialect has nothing new to say
            last = event.data
            yield event.data
            quiet_until = time.monotonic() + keepalive_s
        if event.final:
            return
        until_change = clock.real_until(next_change(now))
        until_keepalive = max(0.0, quiet_until - time.monotonic())
        timeout = until_keepalive if until_change is None else min(until_change + _WAKE_MARGIN_S, until_keepalive)
        woken = await notifier.wait(topic, timeout, since)
        if not woken and time.monotonic() >= quiet_until:
            yield keepalive
            quiet_until = time.monotonic() + keepalive_s


async def aborted() -> AsyncIterator[bytes]:
    """A body that drops the connection before its first byte."""
    for _ in ():  # an async generator that never yields
        yield b""
    raise ConnectionAborted("wan26 mock: the connection was reset (connection_reset fault)")
