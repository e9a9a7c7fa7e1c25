"""Conditional limits: rules that apply when other fields have values, read from the contract as data.

A contract's ``conditional_limits`` lists rules such as "with a reference video the duration is at most 10 s":
``when`` holds predicates on canonical fields (all must hold), ``then`` the constraints that must hold too. The
fields are the canonical request's: counts (``references.video``, ``references.image``, ``references.total``,
``references.voice``), media slots (``image``, ``last_frame``, ``clip``, ``audio``) and options (``duration``,
``resolution`` …). An option left unset counts with the contract's default, as the provider applies it.
Predicates: ``min``, ``max``, ``values``, ``present``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from wan26core._contract import Contract
from wan26core._rules.request import MEDIA_SLOTS, GenerationRequest

__all__ = ["CONDITION_FIELDS", "check_conditions", "field_value", "matches"]

_COUNTS: dict[str, Callable[[GenerationRequest], int]] = {
    "references.video": lambda r: sum(1 for ref in r.references if ref.resolved_kind == "video"),
    "references.image": lambda r: sum(1 for ref in r.references if ref.resolved_kind == "image"),
    "references.total": lambda r: len(r.references),
    "references.voice": lambda r: sum(1 for ref in r.references if ref.voice is not None),
}
_SLOTS = tuple(MEDIA_SLOTS.values())
_OPTIONS = (
    "duration",
    "resolution",
    "aspect_ratio",
    "shot_type",
    "seed",
    "prompt_expansion",
    "generate_audio",
    "watermark",
    "negative_prompt",
)
#: every field a condition may name
CONDITION_FIELDS = frozenset([*_COUNTS, *_SLOTS, *_OPTIONS])


def field_value(request: GenerationRequest, name: str, contract: Contract) -> Any:
    """The value a provider sees for canonical field ``name``: a count, a source, or an option (its default when
    unset)."""
    if name in _COUNTS:
        return _COUNTS[name](request)
    value = getattr(request, name, None)
    if value is None and name in _OPTIONS and name in contract.options:
        return contract.default(name)
    return value


def matches(value: Any, predicate: Mapping[str, Any]) -> bool:
    """Whether ``value`` satisfies a ``when`` predicate (an absent value satisfies no bound)."""
    if "present" in predicate and (value is not None) != predicate["present"]:
        return False
    if value is None:
        return not ({"min", "max", "values"} & predicate.keys())
    return not _breaks(value, predicate)


def _breaks(value: Any, constraint: Mapping[str, Any]) -> bool:
    """Whether ``value`` breaks a ``then`` constraint."""
    if "present" in constraint and (value is not None) != constraint["present"]:
        return True
    if value is None:
        return False
    try:
        return bool(
            ("min" in constraint and value < constraint["min"])
            or ("max" in constraint and value > constraint["max"])
            or ("values" in constraint and value not in constraint["values"])
        )
    except TypeError:  # a value of the wrong type is reported by the type check
        return False


def check_conditions(request: GenerationRequest, contract: Contract, add: Callable[..., None]) -> None:
    """Report each conditional limit of ``contract`` that ``request`` breaks, with the rule's id and message."""
    for rule in contract.conditional_limits:
        if not all(matches(field_value(request, f, contract), p) for f, p in rule["when"].items()):
            continue
        for name, constraint in rule["then"].items():
            value = field_value(request, name, contract)
            if _breaks(value, constraint):
                shown = "set" if isinstance(value, str) else value
                add(name, rule["rule"], f"{rule['message']} (got {shown})", limit=dict(constraint), value=value)
