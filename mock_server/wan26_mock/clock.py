"""The mock's virtual clock: real time, scaled, plus whatever the admin API advanced by hand."""

from __future__ import annotations

import time

__all__ = ["VirtualClock"]


class VirtualClock:
    """``now()`` in virtual unix seconds. ``frozen`` clocks move only through :meth:`advance`."""

    def __init__(self, *, scale: float = 1.0, frozen: bool = False, start: float | None = None) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self.scale = scale
        self.frozen = frozen
        self._origin_real = time.monotonic()
        self._origin_virtual = time.time() if start is None else start
        self._offset = 0.0

    def now(self) -> float:
        elapsed = 0.0 if self.frozen else (time.monotonic() - self._origin_real) * self.scale
        return self._origin_virtual + elapsed + self._offset

    def advance(self, seconds: float) -> float:
        """Move virtual time forward (never back); returns the new time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds
        return self.now()

    def real_seconds(self, virtual: float) -> float:
        """How long to wait in real time for ``virtual`` seconds to pass."""
        return virtual / self.scale
