"""The live progress line of ``wan26 generate``: redrawn in place on a terminal, plain lines otherwise."""

from __future__ import annotations

import asyncio
import time
from typing import TextIO

from wan26core._protocol import JobStatus

__all__ = ["Progress"]


class Progress:
    """Shows state, queue position, elapsed time and the latest log line of one job."""

    def __init__(self, stream: TextIO, *, live: bool | None = None, width: int = 100, plain_every: float = 2.0) -> None:
        self.plain_every = plain_every
        self.stream = stream
        self.live = stream.isatty() if live is None else live
        self.width = width
        self.start = time.monotonic()
        self.status: JobStatus | None = None
        self._last_plain = ""
        self._last_state = ""
        self._last_time = 0.0

    def started(self, job_id: str, provider: str, remote_id: str, *, key: str | None = None) -> None:
        """The job is followed from now; ``key``: an idempotency key (shown) that answered with this earlier job."""
        self.start = time.monotonic()
        if key is not None:  # nothing was submitted now
            self.stream.write(f"idempotency key {key}: {provider} job {job_id} (provider id {remote_id}) submitted earlier\n")
        else:
            self.stream.write(f"submitted {provider} job {job_id} (provider id {remote_id})\n")
        self.stream.flush()

    def line(self) -> str:
        elapsed = time.monotonic() - self.start
        status = self.status
        parts = [f"[{int(elapsed) // 60:02d}:{int(elapsed) % 60:02d}]", status.state if status else "submitted"]
        if status is not None:
            if status.state == "queued" and status.queue_position is not None:
                parts.append(f"queue position {status.queue_position}")
            if status.progress is not None and status.state == "running":
                parts.append(f"{status.progress:.0%}")
            if status.logs:
                parts.append(f"| {status.logs[-1]}")
        return " ".join(parts)

    def update(self, status: JobStatus) -> None:
        self.status = status
        if self.live:
            self._draw()
            return
        text = self.line().split("] ", 1)[1]
        now = time.monotonic()
        changed_state = status.state != self._last_state
        # plain lines: every change of state, other changes at most every `plain_every` seconds
        if text != self._last_plain and (changed_state or now - self._last_time >= self.plain_every):
            self._last_plain, self._last_state, self._last_time = text, status.state, now
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    def _draw(self) -> None:
        self.stream.write("\r\033[K" + self.line()[: self.width])
        self.stream.flush()

    async def tick(self, every: float = 0.5) -> None:
        """Keep the elapsed time moving on a terminal until cancelled."""
        while self.live:
            self._draw()
            await asyncio.sleep(every)

    def finish(self) -> None:
        if self.live:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
