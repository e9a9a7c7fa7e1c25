"""The inverse of rendering: read a provider's wire body back into a canonical request.

The mock server uses it to check what a client sent against the same contract rules the client uses.
References come back named ``ref1``, ``ref2`` … in the endpoint's numbering, so the provider's own
tokens in the prompt (``Character1``, ``character2``, ``@Video1``) keep pointing at the same files.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator

from .contract import Contract
from .errors import ValidationError, Violation
from .references import get_path
from .request import GenerationRequest, Reference, infer_kind
from .validation import OPTION_FIELDS, json_key, provider_side, validate

__all__ = ["check_wire", "parse_wire"]

#: Rules that only wan26 applies (naming and binding); a provider does not check them.
_WAN26_ONLY = ("references.name", "references.unknown", "references.unused", "prompt.literal_token", "source.")


def parse_wire(body: Any, contract: Contract) -> GenerationRequest:
    """A canonical request equivalent to ``body``; :class:`ValidationError` when its shape is wrong."""
    problems: list[Violation] = []
    if not isinstance(body, dict):
        raise ValidationError([_shape("$", "the body must be a JSON object", contract)], provider=contract.id)
    problems += _schema_types(body, contract)
    fields = contract.wire_fields
    prompt = get_path(body, fields["prompt"])
    if prompt is None and contract.limits["prompt"].get("required", True):
        problems.append(_shape(fields["prompt"], "the prompt is required", contract, rule="prompt.required"))
    elif prompt is not None and not isinstance(prompt, str):
        problems.append(_shape(fields["prompt"], "the prompt must be a string", contract))
    references: list[Reference] = []
    spec = contract.references
    if spec is not None:
        wire = spec["wire"]
        lists = [("mixed", wire["mixed"])] if "mixed" in wire else [(k, wire[k]) for k in ("video", "image") if k in wire]
        for kind, path in lists:
            items = get_path(body, path)
            if items is None:
                continue
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                problems.append(_shape(path, "must be a list of URL strings", contract))
                continue
            for source in items:
                guessed = infer_kind(source) if kind == "mixed" else kind
                references.append(Reference(f"ref{len(references) + 1}", source, guessed or "image"))  # type: ignore[arg-type]
    image = get_path(body, fields["first_frame"]) if "first_frame" in fields else None
    kwargs: dict[str, Any] = {}
    for name, attr in OPTION_FIELDS.items():
        option = contract.option(name)
        if not option.get("wire"):
            continue
        value = get_path(body, option["wire"])
        if value is None:
            continue
        reverse = {json_key(v): k for k, v in option.get("wire_values", {}).items()}
        canonical: Any = reverse.get(json_key(value), value)
        if isinstance(canonical, str) and name in ("duration", "seed") and canonical.lstrip("-").isdigit():
            canonical = int(canonical)
        kwargs[attr] = canonical
    table = contract.options.get("size_table")
    if table:
        size = get_path(body, table["wire"])
        if size is not None:
            match = [(tier, ratio) for tier, ratios in table["tiers"].items() for ratio, s in ratios.items() if s == size]
            if match:
                kwargs["resolution"], kwargs["aspect_ratio"] = match[0]
            else:
                problems.append(
                    _shape(table["wire"], f"size {size!r} is not a documented W*H size", contract, rule="option.values")
                )
    if problems:
        raise ValidationError(problems, provider=contract.id)
    try:
        return GenerationRequest(prompt=prompt or "", references=tuple(references), image=image, **kwargs)
    except TypeError as exc:  # pragma: no cover - kwargs are all known fields
        raise ValidationError([_shape("$", str(exc), contract)], provider=contract.id) from exc


def check_wire(body: Any, contract: Contract) -> tuple[GenerationRequest | None, list[Violation]]:
    """Parse ``body`` once and say what the provider itself would refuse: violations carrying a native error."""
    try:
        request = parse_wire(body, contract)
    except ValidationError as exc:
        return None, exc.violations
    with provider_side():  # the client's pre-flight source rules are not the provider's
        found = validate(request, contract)
    refused = [v for v in found if v.severity == "error" and v.native is not None and not v.rule.startswith(_WAN26_ONLY)]
    return request, refused


def _schema_types(body: dict[str, Any], contract: Contract) -> list[Violation]:
    """Values of the wrong JSON type, or empty where the schema sets a minimum length, per the request schema.

    Limits and enums are left to :func:`validate`, which names the contract rule. A string of digits for an
    integer is accepted (AI/ML API's own page code sends ``"duration": "5"``; the contract records the conflict).
    """
    out: list[Violation] = []
    for error in _request_validator(contract).iter_errors(body):
        if error.validator not in ("type", "minLength"):
            continue
        expected = error.validator_value
        digits = isinstance(error.instance, str) and error.instance.lstrip("-").isdigit()
        if error.validator == "type" and digits and "integer" in (expected if isinstance(expected, list) else [expected]):
            continue
        path = ".".join(str(p) for p in error.absolute_path) or "$"
        what = f"must be of type {expected}" if error.validator == "type" else f"must have at least {expected} character(s)"
        out.append(_shape(path, f"{path} {what}", contract))
    return out


@lru_cache(maxsize=64)
def _request_validator(contract: Contract) -> Draft202012Validator:
    """The request schema compiled once per contract (every submit to the mock goes through it)."""
    return Draft202012Validator(contract.request_schema)


def _shape(path: str, message: str, contract: Contract, rule: str = "request.type") -> Violation:
    native = contract.native_error(rule, field=path) or contract.native_error("*", field=path)
    return Violation(path, rule, message, native=native)
