"""The mock's virtual clock: real time, scaled, plus whatever the admin API advanced by hand."""

from __future__ import annotations

import time

from .limits import MAX_ADVANCE_S, MAX_CLOCK_OFFSET_S, BadNumber, check_number, check_time_scale

__all__ = ["VirtualClock"]


class VirtualClock:
    """``now()`` in virtual unix seconds. ``frozen`` clocks move only through :meth:`advance`."""

    def __init__(self, *, scale: float = 1.0, frozen: bool = False, start: float | None = None) -> None:
        self.scale = check_time_scale(scale)
        self.frozen = frozen
        self._origin_real = time.monotonic()
        self._origin_virtual = time.time() if start is None else start
        self._offset = 0.0

    def now(self) -> float:
        elapsed = 0.0 if self.frozen else (time.monotonic() - self._origin_real) * self.scale
        return self._origin_virtual + elapsed + self._offset

    def advance(self, seconds: float) -> float:
        """Move virtual time forward (never back) by at most :data:`~wan26_mock.limits.MAX_ADVANCE_S`, and by at most
        :data:`~wan26_mock.limits.MAX_CLOCK_OFFSET_S` in all; returns the new time. :class:`BadNumber` otherwise."""
        step = check_number(seconds, "seconds", maximum=MAX_ADVANCE_S)
        if self._offset + step > MAX_CLOCK_OFFSET_S:
            left = MAX_CLOCK_OFFSET_S - self._offset
            raise BadNumber("seconds", f"at most {left:g} (the clock moves at most {MAX_CLOCK_OFFSET_S:g} s in all)", seconds)
        self._offset += step
        return self.now()

    def real_seconds(self, virtual: float) -> float:
        """How long to wait in real time for ``virtual`` seconds to pass."""
        return virtual / self.scale
