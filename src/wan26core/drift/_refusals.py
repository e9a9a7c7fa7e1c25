"""Limits read from refusals: a provider's error message that states another limit than the contract.

Each catalogue entry with ``rules`` becomes a pattern from its message: ``{limit}`` and ``{allowed}``
placeholders, or a literal number equal to the limit its rules resolve to (Vtrix's "maximum 5 images").
A recorded message stating another number is compared with ``limits``; another list of values with the
request schema's ``enum``; the wire field a refusal names (fal's ``loc``) picks the rule when an entry
covers several. Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from wan26core._contract import Contract
from wan26core.drift._shapes import leaves

__all__ = ["refusal_drift"]

_NUMBER = r"\d+(?:\.\d+)?"
_Drift = tuple[str, str, str, Any, Any]  # class, path, message, expected, actual


def refusal_drift(contract: Contract, body: Any, status: Any, codes: set[str]) -> list[_Drift]:
    """``limit_tightened`` / ``limit_relaxed`` for each limit a refusal states otherwise than the contract."""
    entries = [e for e in contract.data["errors"] if e["code"] in codes]
    if not entries:
        entries = [e for e in contract.data["errors"] if status is None or e["http_status"] == status]
    texts = [v for _, v in leaves(body) if isinstance(v, str)]
    if not texts:
        return []
    hints = _hints(contract, body)
    found: dict[tuple[str, str], _Drift] = {}
    for entry in entries:
        template = _limit_template(contract, entry)
        if template is None:
            continue
        regex, slots = template
        for text in texts:
            match = regex.search(text)
            if match is None:
                continue
            for group, candidates in slots.items():
                captured = match.group(group)
                if captured is not None:
                    for drift in _compare_limit(contract, group, captured, candidates, hints, entry["code"]):
                        found.setdefault((drift[1], drift[2]), drift)
    return list(found.values())


def _wire_prefixes(contract: Contract) -> dict[str, str]:
    """Last segment of each wire field -> the rule prefix it answers (``video_urls`` -> ``references.video``)."""
    out: dict[str, str] = {}
    fields = contract.wire_fields
    out[fields["prompt"].rsplit(".", 1)[-1]] = "prompt"
    if "first_frame" in fields:
        out[fields["first_frame"].rsplit(".", 1)[-1]] = "first_frame"
    refs = contract.references
    if refs:
        for kind, wire in refs["wire"].items():
            out[str(wire).rsplit(".", 1)[-1]] = "references" if kind == "mixed" else f"references.{kind}"
    for name, option in contract.options.items():
        wire = option.get("wire") if isinstance(option, dict) else None
        if wire:
            out.setdefault(str(wire).rsplit(".", 1)[-1], {"audio_url": "audio"}.get(name, name))
    return out


def _hints(contract: Contract, body: Any) -> list[str]:
    """Wire field names a refusal mentions (fal's ``loc``), as rule prefixes."""
    prefixes = _wire_prefixes(contract)
    return list(dict.fromkeys(prefixes[v] for _, v in leaves(body) if isinstance(v, str) and v in prefixes))


def _limit_value(contract: Contract, rule: str) -> Any:
    node: Any = contract.limits
    for part in rule.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _candidates(contract: Contract, rules: Iterable[str]) -> list[tuple[str, float]]:
    """(rule.bound, number) for every numeric limit the rules name (a {min, max} pair gives both)."""
    out: list[tuple[str, float]] = []
    for rule in rules:
        value = _limit_value(contract, rule)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append((rule, float(value)))
        elif isinstance(value, dict):
            out += [(f"{rule}.{b}", float(value[b])) for b in ("min", "max") if isinstance(value.get(b), (int, float))]
    return out


def _limit_template(contract: Contract, entry: Mapping[str, Any]) -> tuple[re.Pattern[str], dict[str, list[Any]]] | None:
    """A regex for the catalogue message with a group per limit it states, and the limits each group can be."""
    message = str(entry["message"])
    candidates = _candidates(contract, entry.get("rules", ()))
    slots: dict[str, list[Any]] = {}
    parts = re.split(r"(\{[a-z_]+\})", message)
    if "{limit}" in parts or "{allowed}" in parts:
        pieces: list[str] = []
        for part in parts:
            if part == "{limit}" and "limit" not in slots:
                pieces.append(f"(?P<limit>{_NUMBER})")
                slots["limit"] = list(candidates)
            elif part == "{allowed}" and "allowed" not in slots:
                pieces.append("(?P<allowed>'.+')")
                slots["allowed"] = []
            elif part.startswith("{") and part.endswith("}"):
                pieces.append(".+?")
            else:
                pieces.append(re.escape(part))
        pattern = "".join(pieces)
    else:
        pattern = re.escape(message)
        for i, (rule, number) in enumerate(candidates):
            literal = re.escape(f"{number:g}")
            spot = re.search(rf"(?<![\d.]){literal}(?![\d.])", pattern)
            if spot is None:
                continue
            group = f"n{i}"
            pattern = f"{pattern[: spot.start()]}(?P<{group}>{_NUMBER}){pattern[spot.end() :]}"
            slots[group] = [(rule, number)]
    if not slots or (set(slots) == {"limit"} and not slots["limit"]):
        return None
    return re.compile(pattern), slots


def _compare_limit(
    contract: Contract, group: str, captured: str, candidates: list[Any], hints: list[str], code: str
) -> list[_Drift]:
    if group == "allowed":
        return _compare_allowed(contract, captured, hints, code)
    shown = float(captured)
    pool = [c for c in candidates if any(c[0] == h or c[0].startswith(h + ".") for h in hints)] or list(candidates)
    if not pool or any(abs(shown - value) < 1e-9 for _, value in pool):
        return []
    if len(pool) > 1:  # ambiguous: the bound the error's own name points at
        lower = any(w in code.lower() for w in ("short", "small", "few", "min"))
        pool = [c for c in pool if c[0].endswith(".min") == lower] or pool
    rule, value = pool[0]
    is_min = rule.endswith(".min") or rule.endswith("min_length")
    tighter = shown > value if is_min else shown < value
    drift = "limit_tightened" if tighter else "limit_relaxed"
    message = f"{code}: the provider states {captured} for {rule}; the contract says {value:g}"
    return [(drift, f"limits.{rule}", message, value, shown)]


def _compare_allowed(contract: Contract, captured: str, hints: list[str], code: str) -> list[_Drift]:
    shown = re.findall(r"'([^']*)'", captured)
    prefixes = _wire_prefixes(contract)
    wire_by_prefix = {prefix: wire for wire, prefix in prefixes.items()}
    out: list[_Drift] = []
    for hint in hints:
        wire = wire_by_prefix.get(hint)
        enum = _schema_enum(contract.request_schema, wire) if wire else None
        if enum is None:
            continue
        listed = [str(v) for v in enum]
        gone = [v for v in listed if v not in shown]
        new = [v for v in shown if v not in listed]
        if gone:
            message = f"{code}: {wire} no longer allows {', '.join(gone)} (the provider lists {', '.join(shown)})"
            out.append(("limit_tightened", f"request.{wire}", message, listed, shown))
        elif new:
            message = f"{code}: {wire} now also allows {', '.join(new)} (the contract lists {', '.join(listed)})"
            out.append(("limit_relaxed", f"request.{wire}", message, listed, shown))
    return out


def _schema_enum(schema: Mapping[str, Any], wire_name: str) -> list[Any] | None:
    """The enum of the request-schema property named ``wire_name`` (at any depth)."""
    properties = schema.get("properties", {})
    if isinstance(properties.get(wire_name), Mapping) and "enum" in properties[wire_name]:
        return list(properties[wire_name]["enum"])
    for sub in properties.values():
        if isinstance(sub, Mapping):
            found = _schema_enum(sub, wire_name)
            if found is not None:
                return found
    return None
