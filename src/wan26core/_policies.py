"""How often the job runtime retries and polls: :class:`RetryPolicy` (backoff with full jitter, ``Retry-After``) and
:class:`PollSchedule` (the contract-informed polling intervals). Plain data and arithmetic; the operations in
:mod:`wan26core._runtime` consult them."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wan26core._protocol import JobStatus

if TYPE_CHECKING:
    pass

__all__ = ["PollSchedule", "RetryPolicy"]


# --- policies --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter; ``Retry-After`` wins when the provider gives it."""

    attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    retry_statuses: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})
    #: statuses that prove a submit was refused before acceptance (safe to re-send)
    submit_retry_statuses: frozenset[int] = frozenset({429, 503})
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return float(min(retry_after, self.max_backoff * 4))
        ceiling = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        return float(ceiling / 2 + self.rng.uniform(0, ceiling / 2))


@dataclass(frozen=True)
class PollSchedule:
    """When to ask again, informed by the contract's timing profile (seconds of real job time).

    - Before the fastest finish the provider documents (``queue_s.min + processing_s.min``): sparse
      (one early check for quick failures, then every ``max_interval`` at most).
    - From there to ``typical + 2 spread``: every ``spread_fraction`` of the finish time's spread
      (``spread``: the queue's and processing's ``(max - min) / 6``, combined). Without progress the
      detection latency is about this interval; the budget is the width of the window divided by it.
    - Past that: backing off, a quarter of the time overdue.
    - With progress reported (two samples that moved): the rate gives the finish; far off, ask again
      halfway there (the rate is re-measured over a longer stretch; ``4 max_interval`` at most),
      close, just after it.

    Keeps the progress seen so far: use one instance per wait. ``time_scale`` compresses every delay
    (for a mock running its clock faster).
    """

    queue_s: Mapping[str, float]
    processing_s: Mapping[str, float]
    min_interval: float = 2.0
    max_interval: float = 30.0
    first_check: float = 1.0
    time_scale: float = 1.0
    spread_fraction: float = 0.15
    eta_margin: float = 0.5
    _progress: list[tuple[float, float]] = field(default_factory=list, init=False, repr=False, compare=False)

    @classmethod
    def from_contract(cls, timing: Mapping[str, Any], *, time_scale: float = 1.0, **overrides: float) -> PollSchedule:
        return cls(timing["queue_s"], timing["processing_s"], time_scale=time_scale, **overrides)

    @classmethod
    def check_overrides(cls, overrides: Mapping[str, float]) -> dict[str, float]:
        """``overrides`` of the tunable fields (``Client(poll=...)``), checked: known names, positive numbers."""
        tunable = ("min_interval", "max_interval", "first_check", "spread_fraction", "eta_margin")
        checked: dict[str, float] = {}
        for name, value in overrides.items():
            if name not in tunable:
                raise ValueError(f"poll: {name!r} is not a poll setting; choose from {', '.join(tunable)}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"poll: {name} must be a positive number of seconds (or fraction), not {value!r}")
            checked[name] = float(value)
        if checked.get("min_interval", cls.min_interval) > checked.get("max_interval", cls.max_interval):
            raise ValueError("poll: min_interval must not exceed max_interval")
        return checked

    @property
    def spread(self) -> float:
        """The finish time's spread in seconds: the queue's and processing's ``(max - min) / 6``, combined."""

        def one(span: Mapping[str, float]) -> float:
            return (span.get("max", span.get("typical", 0) * 1.5) - span.get("min", span.get("typical", 0) * 0.5)) / 6

        return float(math.hypot(one(self.queue_s), one(self.processing_s)))

    def next_delay(self, elapsed: float, status: JobStatus | None, running_for: float | None = None) -> float:
        """Seconds (already scaled) to wait before the next status request (``running_for``: accepted, unused)."""
        scale = self.time_scale
        elapsed *= scale  # back to real job seconds
        if status is None:
            return self.first_check / scale
        eta = self._eta(elapsed, status)
        if eta is not None:  # far off: halfway there (at most 4 max_interval); close: just after the finish
            delay = min(eta / 2, 4 * self.max_interval) if eta > self.max_interval else eta + self.eta_margin
            return max(self.eta_margin, delay) / scale
        earliest = self.queue_s.get("min", 0) + self.processing_s.get("min", 0)
        typical = self.queue_s.get("typical", 0) + self.processing_s.get("typical", 0)
        window = self.spread * self.spread_fraction
        if elapsed < self.first_check:
            delay = self.first_check - elapsed
        elif elapsed < earliest:
            delay = earliest - elapsed
        elif elapsed < typical + 2 * self.spread:
            delay = window
        else:
            delay = max(window, (elapsed - typical) / 4)
        return max(self.min_interval, min(self.max_interval, delay)) / scale

    def _eta(self, elapsed: float, status: JobStatus) -> float | None:
        """Seconds to the finish from the progress rate; None without two samples that moved."""
        seen = self._progress
        if seen and elapsed < seen[-1][0]:  # a new wait on a reused schedule
            seen.clear()
        progress = status.progress
        if status.state != "running" or progress is None or progress <= 0:
            return None
        if progress >= 1:  # done by its own account, not yet finished: ask again shortly
            return float(self.min_interval)
        stalled = bool(seen) and progress <= seen[-1][1]
        seen.append((elapsed, progress))
        (first_at, first), (last_at, last) = seen[0], seen[-1]
        if stalled or last_at <= first_at or last <= first:
            return None  # no movement to measure: the timing profile decides
        return (1 - last) * (last_at - first_at) / (last - first)
