"""Waking waiters without polling: one broadcast per topic, fired on clock jumps and job changes.

A status stream or the webhook dispatcher waits for ``min(its own next deadline, a notification)``:
asyncio keeps the deadlines in one timer heap, so a thousand idle waiters cost nothing between
events. Notifications may come from another thread (a test advancing the clock); they are handed
to each waiting event loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from dataclasses import dataclass

import anyio

from .clock import VirtualClock

__all__ = ["ALL", "Notifier", "WatchedClock"]

ALL = "*"  # the topic every waiter also listens to (clock jumps, resets)


@dataclass(eq=False)
class _Waiter:
    loop: asyncio.AbstractEventLoop
    event: asyncio.Event


class Notifier:
    """Per-topic broadcasts: :meth:`wait` returns True when notified, False when its timeout passed.

    Read :attr:`generation` before looking at the state you wait on and pass it as ``since``: a
    notification that lands in between (from another thread) then ends the wait at once.
    """

    def __init__(self) -> None:
        self._waiters: dict[str, set[_Waiter]] = {}
        self._lock = threading.Lock()
        self.generation = 0

    async def wait(self, topic: str, timeout: float | None, since: int | None = None) -> bool:
        """Wait for a notification of ``topic`` (or of every topic) for at most ``timeout`` real seconds."""
        waiter = _Waiter(asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            if since is not None and since != self.generation:
                return True
            self._waiters.setdefault(topic, set()).add(waiter)
        try:
            if timeout is not None and timeout <= 0:
                return False
            with anyio.move_on_after(timeout if timeout is not None and math.isfinite(timeout) else None):
                await waiter.event.wait()
                return True
            return False
        finally:
            with self._lock:
                waiting = self._waiters.get(topic)
                if waiting is not None:
                    waiting.discard(waiter)
                    if not waiting:
                        del self._waiters[topic]

    def notify(self, topic: str = ALL) -> None:
        """Wake every waiter on ``topic`` (``ALL`` wakes everyone), in whichever loop it waits."""
        with self._lock:
            self.generation += 1
            if topic == ALL:
                targets = [w for waiting in self._waiters.values() for w in waiting]
            else:
                targets = list(self._waiters.get(topic, ()))
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for waiter in targets:
            if waiter.loop is running:
                waiter.event.set()
            else:
                with contextlib.suppress(RuntimeError):  # that loop has closed meanwhile
                    waiter.loop.call_soon_threadsafe(waiter.event.set)

    def waiting(self) -> int:
        """How many waiters are registered (for the admin API and tests)."""
        with self._lock:
            return sum(len(w) for w in self._waiters.values())


class WatchedClock(VirtualClock):
    """A virtual clock that wakes every waiter when it is advanced by hand."""

    def __init__(self, notifier: Notifier, *, scale: float = 1.0, frozen: bool = False) -> None:
        super().__init__(scale=scale, frozen=frozen)
        self.notifier = notifier

    def advance(self, seconds: float) -> float:
        now = super().advance(seconds)
        self.notifier.notify(ALL)
        return now

    def real_until(self, virtual_time: float | None) -> float | None:
        """Real seconds until ``virtual_time`` (None: never, as on a frozen clock or with no time)."""
        if virtual_time is None or self.frozen:
            return None
        return max(0.0, self.real_seconds(virtual_time - self.now()))
