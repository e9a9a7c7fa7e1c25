"""Faults and scenarios: chosen per request by a header, or queued through the admin API.

Every scenario's argument is checked when it is read (:func:`read_scenario`): numbers must be finite, non-negative and
within the maxima of :mod:`wan26_mock.limits`, so a fault never sleeps for NaN seconds or answers with status 7.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

from .limits import MAX_LATENCY_MS, MAX_RETRY_AFTER_S, MAX_TIMEOUT_AFTER_ACCEPT_S, BadNumber, check_number

__all__ = ["SCENARIOS", "SCENARIO_HEADER", "Fault", "FaultQueue", "ScenarioError", "parse_scenario", "read_scenario"]

SCENARIO_HEADER = "x-wan26-mock-scenario"
#: name -> what it does
SCENARIOS = {
    "ok": "no fault",
    "latency": f"answer after a delay: latency:<milliseconds, 0-{MAX_LATENCY_MS}>",
    "rate_limited": f"429 in the provider's shape with Retry-After: rate_limited[:<seconds, 0-{MAX_RETRY_AFTER_S}>]",
    "server_error": "a 5xx in the provider's shape: server_error[:<status 500-599>|<native code>]",
    "connection_reset": "drop the connection without a complete response (before the request is handled, or after with :after)",
    "malformed": "200 with a truncated JSON body",
    "timeout_after_accept": (
        f"create the job, then answer only after a delay: timeout_after_accept[:<seconds, 0-{MAX_TIMEOUT_AFTER_ACCEPT_S}>]"
    ),
    "stuck": "the job is accepted and stays queued forever",
    "generation_failed": "the job fails with a native code of the catalogue: generation_failed[:<code>]",
    "content_policy": "the job fails with the provider's content-safety rejection",
    "unauthorized": "the provider's 401",
}
MAX_ARGUMENT = 200  # characters of a native code

Kind = Literal["none", "number", "status_or_code", "code", "after"]


@dataclass(frozen=True)
class _Argument:
    kind: Kind
    unit: str = ""
    maximum: float = 0
    integer: bool = False


#: what each scenario's argument may be: the route table of :func:`read_scenario`
ARGUMENTS: dict[str, _Argument] = {
    "ok": _Argument("none"),
    "latency": _Argument("number", "milliseconds", MAX_LATENCY_MS),
    "rate_limited": _Argument("number", "seconds", MAX_RETRY_AFTER_S),
    "server_error": _Argument("status_or_code", "status", 599, integer=True),
    "connection_reset": _Argument("after"),
    "malformed": _Argument("none"),
    "timeout_after_accept": _Argument("number", "seconds", MAX_TIMEOUT_AFTER_ACCEPT_S),
    "stuck": _Argument("none"),
    "generation_failed": _Argument("code"),
    "content_policy": _Argument("none"),
    "unauthorized": _Argument("none"),
}
assert set(ARGUMENTS) == set(SCENARIOS)


class ScenarioError(ValueError):
    """A scenario that cannot be applied: an unknown name or a bad argument (the message says which)."""


@dataclass(frozen=True)
class Fault:
    name: str
    argument: str | None = None
    number: float | None = None  # the argument, checked, when it is a number


def read_scenario(text: str, field: str = "scenario") -> Fault:
    """``name[:argument]`` -> Fault, or :class:`ScenarioError` naming ``field`` and the rule broken."""
    name, _, argument = text.strip().partition(":")
    spec = ARGUMENTS.get(name)
    if spec is None:
        known = sorted(SCENARIOS)
        raise ScenarioError(f"{field}: {name[:40]!r} is unknown: a scenario must be one of {known}, as name[:argument]")
    if not argument:
        return Fault(name)
    where = f"{field}: {name}"
    if spec.kind == "none":
        raise ScenarioError(f"{where} takes no argument, got {argument[:40]!r}")
    if spec.kind == "after" and argument != "after":
        raise ScenarioError(f"{where}: the only argument is 'after', got {argument[:40]!r}")
    if len(argument) > MAX_ARGUMENT:
        raise ScenarioError(f"{where}: the argument is over {MAX_ARGUMENT} characters")
    if spec.kind == "number" or (spec.kind == "status_or_code" and _numeric(argument)):
        minimum = 500 if spec.kind == "status_or_code" else 0
        try:
            field_name = f"{where}: {spec.unit}"
            number = check_number(argument, field_name, maximum=spec.maximum, minimum=minimum, integer=spec.integer, text=True)
        except BadNumber as exc:
            raise ScenarioError(str(exc)) from None
        return Fault(name, argument, number)
    return Fault(name, argument)


def parse_scenario(text: str) -> Fault | None:
    """``name[:argument]`` -> Fault; None for an unknown name or a bad argument."""
    try:
        return read_scenario(text)
    except ScenarioError:
        return None


def _numeric(text: str) -> bool:
    """Looks like a number (a status), not a native code: ``503``, ``5e2``, ``nan``, ``-1``, ``inf``; digits past
    three are a native code (Vtrix's ``001028099``)."""
    if text.isdigit() and len(text) > 3:
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True


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
