"""The mock's stated maxima, in one place, and the check every number from outside goes through.

A number from a client (an admin body, a query parameter, a scenario header, a command-line option) is used only
after :func:`check_number` found it finite, non-negative and within its maximum; otherwise the client gets a 400
(``BadNumber``'s message names the field, the rule and the value). NaN and infinities never get in, so they can
never reach a timer, the virtual clock or an answer's JSON.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = [
    "DEFAULT_MAX_JOBS",
    "DEFAULT_PAGE_SIZE",
    "MAX_ADVANCE_S",
    "MAX_CLOCK_OFFSET_S",
    "MAX_LATENCY_MS",
    "MAX_PAGE_SIZE",
    "MAX_RETRY_AFTER_S",
    "MAX_SCENARIO_COUNT",
    "MAX_TIMEOUT_AFTER_ACCEPT_S",
    "MAX_TIME_SCALE",
    "BadNumber",
    "check_number",
    "check_time_scale",
]

YEAR_S = 365 * 86_400
MAX_ADVANCE_S = 10 * YEAR_S  # one clock/advance call
MAX_CLOCK_OFFSET_S = 100 * YEAR_S  # all advances together: virtual dates stay far inside what datetime can show
MAX_LATENCY_MS = 60_000  # latency:<ms>
MAX_RETRY_AFTER_S = 86_400  # rate_limited:<seconds>
MAX_TIMEOUT_AFTER_ACCEPT_S = 600  # timeout_after_accept:<seconds>
MAX_SCENARIO_COUNT = 100_000  # how many requests one queued scenario applies to
MAX_TIME_SCALE = 1_000_000  # --time-scale
DEFAULT_MAX_JOBS = 20_000  # jobs kept (--max-jobs); past it the oldest finished jobs go first
DEFAULT_PAGE_SIZE = 100  # admin listings: jobs, journal, webhooks
MAX_PAGE_SIZE = 1_000


class BadNumber(ValueError):
    """A number outside its rule; the message names the field."""

    def __init__(self, field: str, rule: str, value: Any) -> None:
        shown = repr(value) if not isinstance(value, str) else repr(value[:40])
        super().__init__(f"{field}: must be {rule}, got {shown}")
        self.field = field


def check_number(
    value: Any, field: str, *, maximum: float, integer: bool = False, minimum: float = 0, text: bool = False
) -> float:
    """``value`` as a float when it is a finite number (an integer when ``integer``) from ``minimum`` to ``maximum``.

    With ``text``, a string is read as a number (headers, query parameters and options are text; a JSON body's
    numbers are numbers). Booleans are not numbers."""
    kind = "an integer" if integer else "a finite number"
    rule = f"{kind} from {minimum:g} to {maximum:g}"
    number: float
    if isinstance(value, bool):
        raise BadNumber(field, rule, value)
    if isinstance(value, int):
        if not minimum <= value <= maximum:  # compared as an int: 10**400 is no overflow
            raise BadNumber(field, rule, value)
        return float(value)
    if isinstance(value, float):
        number = value
    elif text and isinstance(value, str) and len(value) <= 40:
        if not _NUMBER.fullmatch(value):  # ASCII only: no "1_000", no "٥", no padding
            raise BadNumber(field, rule, value)
        try:
            number = int(value) if integer else float(value)
        except ValueError:
            raise BadNumber(field, rule, value) from None
    else:
        raise BadNumber(field, rule, value)
    if not math.isfinite(number) or not minimum <= number <= maximum or (integer and number != int(number)):
        raise BadNumber(field, rule, value)
    return float(number)


_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?|[-+]?(nan|inf|infinity)", re.IGNORECASE | re.ASCII)


def check_time_scale(value: Any, field: str = "time_scale") -> float:
    """A virtual clock's speed: finite, above 0, at most :data:`MAX_TIME_SCALE`."""
    scale = check_number(value, field, maximum=MAX_TIME_SCALE, text=True)
    if scale <= 0:
        raise BadNumber(field, f"a finite number above 0, at most {MAX_TIME_SCALE:g}", value)
    return scale
