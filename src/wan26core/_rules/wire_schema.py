"""A wire body checked against its contract's request schema the way the provider's own server checks it.

Each contract's ``request.validation`` says how its provider reads a body before any model rule runs:

- ``engine``: ``pydantic`` (fal is a FastAPI/pydantic v2 app: lax coercion such as ``"5"`` -> ``5`` for an
  integer, pydantic's error ``type`` and ``msg``) or ``jsonschema`` (every JSON Schema keyword, exact JSON types);
- ``extra_fields``: ``ignore`` (unknown fields are dropped, as pydantic's default does) or ``refuse``;
- ``coerce``: leniencies the provider is documented to have (``integer_from_digit_string``);
- ``wording``: how a problem is worded, ``pydantic``, ``zod`` (AI/ML API's validation texts are zod v3's) or ``plain``;
- ``answer``: the provider's generic refusal: ``http_status``, ``code`` and ``message`` templates with
  ``{type}`` (the problem's kind), ``{parameter}`` (its wire path) and ``{problem}`` (its text).

:func:`read_wire` returns the body as the provider would go on with it (coerced) and every problem found;
:func:`wire_native` turns one problem into the provider's :class:`NativeError`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Any, Literal

from jsonschema import Draft202012Validator

from wan26core._contract import Contract
from wan26core._errors import NativeError

__all__ = ["MAX_ECHO_BYTES", "WireProblem", "read_wire", "read_wire_stages", "wire_native", "wire_validation"]

#: the largest offending value a refusal echoes back (as pydantic's ``input``); larger ones are left out
MAX_ECHO_BYTES = 4096

_DEFAULT_VALIDATION: dict[str, Any] = {
    "engine": "jsonschema",
    "extra_fields": "ignore",
    "wording": "plain",
    "answer": {"http_status": 400, "code": "invalid_request", "message": "{problem}"},
}


@dataclass(frozen=True)
class WireProblem:
    """One value the provider's schema check refuses: where (``loc``), what kind, in the provider's words."""

    loc: tuple[str | int, ...]
    kind: str  # pydantic's error type, or the JSON Schema keyword
    message: str
    value: Any = None
    ctx: Mapping[str, Any] | None = None

    @property
    def parameter(self) -> str:
        """The wire path, dotted (``parameters.duration``, ``video_urls.0``); ``body`` for the whole body."""
        return ".".join(str(p) for p in self.loc) or "body"

    def echo(self) -> Any:
        """The offending value when it is small and strict JSON, else None (nothing is echoed)."""
        try:
            text = json.dumps(self.value, allow_nan=False)
        except (TypeError, ValueError):
            return None
        return self.value if len(text) <= MAX_ECHO_BYTES else None


def wire_validation(contract: Contract) -> dict[str, Any]:
    """The contract's ``request.validation`` with defaults filled in."""
    given = contract.data["request"].get("validation", {})
    merged = {**_DEFAULT_VALIDATION, **given}
    merged["answer"] = {**_DEFAULT_VALIDATION["answer"], **given.get("answer", {})}
    return merged


def read_wire(body: Any, contract: Contract, *, shape_only: bool = False) -> tuple[Any, list[WireProblem]]:
    """``body`` as the provider goes on with it (lax values coerced, unknown fields kept) and every problem.

    ``shape_only``: for the ``jsonschema`` engine, only the body's shape (JSON types, constants, required and, where
    refused, unknown fields), so that a contract rule with a catalogued error of its own answers a broken limit
    first; pydantic reports every field problem at once, as fal does.
    """
    coerced, shape, later = read_wire_stages(body, contract)
    if shape_only or not later:
        return coerced, shape
    return coerced, sorted(shape + later, key=lambda p: [str(x) for x in p.loc])


def read_wire_stages(body: Any, contract: Contract) -> tuple[Any, list[WireProblem], list[WireProblem]]:
    """One reading of ``body``: the coerced body, the problems of its shape, and the schema's other problems (limits,
    enums), which a contract rule with a catalogued error of its own answers first. pydantic reports every field
    problem at once, as fal does: all of them are shape problems there."""
    spec = wire_validation(contract)
    if spec["engine"] == "pydantic":
        coerced, problems = _read_pydantic(body, contract)
        return coerced, problems, []
    coerced, problems = _read_jsonschema(body, contract, spec)
    return coerced, [p for p in problems if p.kind in _SHAPE], [p for p in problems if p.kind not in _SHAPE]


def wire_native(problem: WireProblem, contract: Contract) -> NativeError:
    """The provider's own refusal of ``problem``, from the contract's generic answer."""
    answer = wire_validation(contract)["answer"]
    facts = {"type": problem.kind, "parameter": problem.parameter, "problem": problem.message}
    return NativeError(int(answer["http_status"]), str(answer["code"]).format(**facts), str(answer["message"]).format(**facts))


# --- JSON Schema ----------------------------------------------------------------------------------


_SHAPE = frozenset({"type", "const", "required", "additionalProperties"})


def _read_jsonschema(body: Any, contract: Contract, spec: Mapping[str, Any]) -> tuple[Any, list[WireProblem]]:
    coerce = set(spec.get("coerce", ()))
    extra_ok = spec["extra_fields"] == "ignore"
    wording = str(spec.get("wording", "plain"))
    problems: list[WireProblem] = []
    coerced = _coerce_digits(body, contract.request_schema) if "integer_from_digit_string" in coerce else body
    for error in sorted(_validator(contract).iter_errors(coerced), key=lambda e: [str(p) for p in e.absolute_path]):
        if error.validator == "additionalProperties" and extra_ok:
            continue
        loc = tuple(error.absolute_path)
        if error.validator in ("allOf", "anyOf", "oneOf", "if", "then", "else", "not"):
            continue  # the keywords inside report the problem
        keyword = str(error.validator)
        value = None if keyword == "required" else error.instance
        if keyword == "required":
            loc = (*loc, _missing_name(error.message))
        message = _word(wording, keyword, value, error)
        if wording == "zod" and keyword != "enum":  # zod names the path; the documented enum text stands alone
            message += f" at '{'.'.join(str(p) for p in loc)}'"
        problems.append(WireProblem(loc, keyword, message, value))
    return coerced, _first_per_place(problems)


@lru_cache(maxsize=64)
def _validator(contract: Contract) -> Draft202012Validator:
    return Draft202012Validator(contract.request_schema)


def _coerce_digits(node: Any, schema: Mapping[str, Any]) -> Any:
    """Digit strings where the schema wants an integer (or an enum of integers) become integers."""
    if isinstance(node, dict) and isinstance(schema.get("properties"), dict):
        props = schema["properties"]
        return {k: _coerce_digits(v, props[k]) if k in props else v for k, v in node.items()}
    if isinstance(node, str) and node.isascii() and node.lstrip("-").isdigit() and len(node) <= 20:
        enum = schema.get("enum")
        wants_int = schema.get("type") == "integer" or (isinstance(enum, list) and all(type(v) is int for v in enum))
        if wants_int:
            return int(node)
    return node


def _missing_name(message: str) -> str:
    # jsonschema: "'prompt' is a required property"
    return message.split("'")[1] if message.count("'") >= 2 else message


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return _JSON_TYPES.get(type(value), type(value).__name__)


#: each bound keyword's text: plain wording, zod v3's (``None`` where zod has no such check)
_BOUND_TEXTS: dict[str, tuple[str, str | None]] = {
    "minimum": ("must be at least {n}", "Number must be greater than or equal to {n}"),
    "maximum": ("must be at most {n}", "Number must be less than or equal to {n}"),
    "exclusiveMinimum": ("must be more than {n}", None),
    "exclusiveMaximum": ("must be less than {n}", None),
    "minLength": ("must have at least {n} character(s)", "String must contain at least {n} character(s)"),
    "maxLength": ("must have at most {n} character(s)", "String must contain at most {n} character(s)"),
    "minItems": ("must have at least {n} item(s)", "Array must contain at least {n} element(s)"),
    "maxItems": ("must have at most {n} item(s)", "Array must contain at most {n} element(s)"),
}


def _word(wording: str, keyword: str, value: Any, error: Any) -> str:
    expected = error.validator_value
    if wording == "zod":
        return _zod(keyword, value, expected)
    if keyword == "required":
        return "is required"
    if keyword == "type":
        return f"must be of type {expected}, not {_json_type(value)}"
    if keyword == "enum":
        return f"must be one of {', '.join(json.dumps(v) for v in expected)}"
    if keyword == "const":
        return f"must be {json.dumps(expected)}"
    plain, _ = _BOUND_TEXTS.get(keyword, (None, None))
    return plain.format(n=expected) if plain else str(error.message)


def _zod(keyword: str, value: Any, expected: Any) -> str:
    """zod v3's English messages (its locales/en.ts), which AI/ML API's documented refusal uses."""
    if keyword == "required":
        return "Required"
    if keyword == "type":
        if expected == "integer" and isinstance(value, float) and math.isfinite(value):
            return "Expected integer, received float"
        if isinstance(value, float) and not math.isfinite(value):
            wanted = "number" if expected == "integer" else expected
            return f"Expected {wanted}, received nan"
        # zod's integer is a number with a check: a non-number is refused as not a number
        wanted = "number" if expected == "integer" and not isinstance(value, (int, float)) else expected
        return f"Expected {wanted}, received {_zod_type(value)}"
    if keyword == "enum":
        options = " | ".join(_zod_value(v) for v in expected)
        return f"Invalid enum value. Expected {options}, received {_zod_value(value)}"
    if keyword == "const":
        return f"Invalid literal value, expected {json.dumps(expected)}"
    _, zod = _BOUND_TEXTS.get(keyword, (None, None))
    return (zod or "Invalid input").format(n=expected)


def _zod_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "nan" if isinstance(value, float) and not math.isfinite(value) else "number"
    names: dict[type, str] = {str: "string", list: "array", dict: "object"}
    return names.get(type(value), "unknown")


def _zod_value(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value if len(value) <= 100 else value[:100] + '…'}'"
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        text = str(value)
    return text if len(text) <= 100 else text[:100] + "…"


def _first_per_place(problems: list[WireProblem]) -> list[WireProblem]:
    """One problem per place: a value of the wrong type is not also reported against that type's limits."""
    seen: set[tuple[str | int, ...]] = set()
    out: list[WireProblem] = []
    order = {"required": 0, "type": 1, "const": 2, "enum": 3}
    for problem in sorted(problems, key=lambda p: order.get(p.kind, 9)):
        if problem.loc not in seen:
            seen.add(problem.loc)
            out.append(problem)
    return sorted(out, key=lambda p: [str(x) for x in p.loc])


# --- pydantic -------------------------------------------------------------------------------------


def _read_pydantic(body: Any, contract: Contract) -> tuple[Any, list[WireProblem]]:
    from pydantic import ValidationError as PydanticError

    model = _pydantic_model(contract)
    try:
        validated = model.model_validate(body)
    except PydanticError as exc:
        problems = [
            WireProblem(tuple(e["loc"]), e["type"], e["msg"], e.get("input"), dict(e["ctx"]) if e.get("ctx") else None)
            for e in exc.errors(include_url=False)
        ]
        return body, problems
    coerced = validated.model_dump(mode="json", exclude_unset=True)
    if isinstance(body, dict):  # unknown fields ride along untouched: the provider ignores them
        coerced = {**{k: v for k, v in body.items() if k not in coerced}, **coerced}
    return coerced, []


@lru_cache(maxsize=64)
def _pydantic_model(contract: Contract) -> Any:
    """A pydantic model equivalent to the contract's request schema (the subset contracts use)."""
    return _model_for(contract.request_schema, "WireBody", extra="ignore")


def _model_for(schema: Mapping[str, Any], name: str, *, extra: Literal["ignore", "forbid"]) -> Any:
    from pydantic import ConfigDict, create_model

    required = set(schema.get("required", ()))
    fields: dict[str, Any] = {}
    for key, prop in schema.get("properties", {}).items():
        annotation = _annotation(prop, f"{name}_{key}")
        fields[key] = (annotation, ...) if key in required else (annotation, None)
    # ser_json_inf_nan: a NaN that passes (a number field) is never written back as invalid JSON
    config = ConfigDict(extra=extra, ser_json_inf_nan="strings")
    return create_model(name, __config__=config, **fields)


def _annotation(prop: Mapping[str, Any], name: str) -> Any:
    from typing import Annotated

    from pydantic import Field

    if "const" in prop:
        return Literal[prop["const"]]
    if "enum" in prop:  # an Enum, not a Literal: fal's models answer type "enum" (the contract's conflicts say so)
        return Enum(name, {f"v{i}": value for i, value in enumerate(prop["enum"])})
    kind = prop.get("type")
    if kind == "object":
        return _model_for(prop, name, extra="ignore")
    constraints: dict[str, Any] = {}
    if kind == "string":
        constraints = {"min_length": prop.get("minLength"), "max_length": prop.get("maxLength")}
        base: Any = str
    elif kind == "integer":
        constraints = {"ge": prop.get("minimum"), "le": prop.get("maximum")}
        base = int
    elif kind == "number":
        constraints = {"ge": prop.get("minimum"), "le": prop.get("maximum"), "allow_inf_nan": False}
        base = float
    elif kind == "boolean":
        base = bool
    elif kind == "array":
        constraints = {"min_length": prop.get("minItems"), "max_length": prop.get("maxItems")}
        base = list[_annotation(prop.get("items", {}), name + "_item")]  # type: ignore[misc]
    else:
        base = Any
    given = {k: v for k, v in constraints.items() if v is not None}
    return Annotated[base, Field(**given)] if given else base
