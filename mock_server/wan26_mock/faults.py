"""Faults and scenarios: chosen per request by a header, or queued through the admin API."""

from __future__ import annotations

import threading
from dataclasses import dataclass

__all__ = ["SCENARIOS", "SCENARIO_HEADER", "Fault", "FaultQueue", "parse_scenario"]

SCENARIO_HEADER = "x-wan26-mock-scenario"
#: name -> what it does
SCENARIOS = {
    "ok": "no fault",
    "latency": "answer after a delay: latency:<milliseconds>",
    "rate_limited": "429 in the provider's shape with Retry-After: rate_limited[:<seconds>]",
    "server_error": "a 5xx in the provider's shape: server_error[:<status>|<native code>]",
    "connection_reset": "drop the connection without a complete response (before the request is handled, or after with :after)",
    "malformed": "200 with a truncated JSON body",
    "timeout_after_accept": "create the job, then answer only after a delay: timeout_after_accept[:<seconds>]",
    "stuck": "the job is accepted and stays queued forever",
    "generation_failed": "the job fails with a native code of the catalogue: generation_failed[:<code>]",
    "content_policy": "the job fails with the provider's content-safety rejection",
    "unauthorized": "the provider's 401",
}


@dataclass(frozen=True)
class Fault:
    name: str
    argument: str | None = None

    @property
    def number(self) -> float | None:
        try:
            return float(self.argument) if self.argument is not None else None
        except ValueError:
            return None


def parse_scenario(text: str) -> Fault | None:
    """``name[:argument]`` -> Fault; None for an unknown name."""
    name, _, argument = text.strip().partition(":")
    if name not in SCENARIOS:
        return None
    return Fault(name, argument or None)


@dataclass
class _Queued:
    fault: Fault
    remaining: int
    provider: str | None
    action: str | None


class FaultQueue:
    """Faults for the next N requests matching a provider and/or action (for clients that cannot set headers)."""

    def __init__(self) -> None:
        self._items: list[_Queued] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault, count: int, provider: str | None = None, action: str | None = None) -> None:
        with self._lock:
            self._items.append(_Queued(fault, count, provider, action))

    def __len__(self) -> int:
        """How many kinds of fault wait (the engine skips :meth:`take` when none do)."""
        return len(self._items)

    def take(self, provider: str | None, action: str | None) -> Fault | None:
        with self._lock:
            for item in self._items:
                if item.provider not in (None, provider) or item.action not in (None, action):
                    continue
                item.remaining -= 1
                if item.remaining <= 0:
                    self._items.remove(item)
                return item.fault
        return None

    def pending(self) -> list[dict[str, object]]:
        with self._lock:
            return [
                {
                    "scenario": i.fault.name,
                    "argument": i.fault.argument,
                    "remaining": i.remaining,
                    "provider": i.provider,
                    "action": i.action,
                }
                for i in self._items
            ]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
