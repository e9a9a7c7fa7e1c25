"""Compare a JSON value with a JSON Schema and name each difference the way drift reports need it.

Differences are tuples ``(class, path, message, expected, actual)`` with class ``field_removed``,
``field_renamed`` (a missing required field and a new field of a matching type in the same object),
``field_added``, ``type_changed``, ``value_changed`` (enum/const) or ``constraint_violated`` (pattern,
format, ranges). The schema subset read is documented in docs/contract-drift.md. Pure functions.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

__all__ = ["BREAKING", "ShapeDiff", "compare", "generic_path", "get_value", "infer_schema", "json_type", "leaves", "select"]

#: the classes a client can trip over; ``field_added`` is the only addition
BREAKING = frozenset({"field_removed", "field_renamed", "type_changed", "value_changed", "constraint_violated"})
#: (class, concrete JSON path, message, expected, actual)
ShapeDiff = tuple[str, str, str, Any, Any]
_LEAF_KEYWORDS = (
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
)


def compare(schema: Mapping[str, Any], value: Any) -> list[ShapeDiff]:
    """Every classified difference between ``value`` and ``schema``; renames paired up."""
    return _pair_renames(_walk(schema, value, "$", schema))


def json_type(value: Any) -> str:
    """The JSON Schema type name of a parsed JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def infer_schema(values: Sequence[Any]) -> dict[str, Any]:
    """A JSON Schema every value satisfies: the union of their types, keys present in all of them required."""
    types = {json_type(v) for v in values}
    if {"integer", "number"} <= types:
        types.discard("integer")
    schema: dict[str, Any] = {"type": sorted(types)[0] if len(types) == 1 else sorted(types)}
    objects = [v for v in values if isinstance(v, dict)]
    if objects:
        keys = list(dict.fromkeys(k for o in objects for k in o))
        schema["properties"] = {k: infer_schema([o[k] for o in objects if k in o]) for k in keys}
        required = [k for k in keys if all(k in o for o in objects)]
        if required:
            schema["required"] = required
    arrays = [v for v in values if isinstance(v, list)]
    items = [item for a in arrays for item in a]
    if items:
        schema["items"] = infer_schema(items)
    return schema


# --- the walker ------------------------------------------------------------------------------------


def _walk(
    schema: Any, value: Any, path: str, root: Mapping[str, Any], primary: bool = True, siblings: Mapping[str, Any] | None = None
) -> list[ShapeDiff]:
    """Classified differences between ``value`` and ``schema`` (a JSON Schema subset, see docs/contract-drift.md).

    Only a ``primary`` object schema reports new fields: the parts of an ``allOf`` or an ``if``/``then``
    add rules (a conditional ``required``) to the object their parent describes, whose ``properties``
    (``siblings``) name the types of the fields they require.
    """
    if not isinstance(schema, Mapping):
        return []
    out: list[ShapeDiff] = []
    own: Mapping[str, Any] = {**(siblings or {}), **schema.get("properties", {})}
    if "$ref" in schema:
        out += _walk(_resolve(root, str(schema["$ref"])), value, path, root, primary, siblings)
    for sub in schema.get("allOf", []):
        out += _walk(sub, value, path, root, False, own)
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            out += _best_branch([_walk(branch, value, path, root, primary, siblings) for branch in schema[keyword]])
    if "if" in schema:
        import jsonschema

        branch = schema.get("then") if jsonschema.Draft202012Validator(schema["if"]).is_valid(value) else schema.get("else")
        if branch is not None:
            out += _walk(branch, value, path, root, False, own)
    declared = schema.get("type")
    if declared is not None:
        allowed = [declared] if isinstance(declared, str) else list(declared)
        actual = json_type(value)
        if actual not in allowed and not (actual == "integer" and "number" in allowed):
            out.append(("type_changed", path, f"{' or '.join(allowed)} expected, got {actual}", allowed, actual))
            return out
    if "const" in schema and value != schema["const"]:
        out.append(("value_changed", path, f"{value!r} is not the constant {schema['const']!r}", schema["const"], value))
    if "enum" in schema and value not in schema["enum"]:
        listed = ", ".join(map(repr, schema["enum"]))
        out.append(("value_changed", path, f"{value!r} is not one of {listed}", list(schema["enum"]), value))
    if isinstance(value, dict):
        out += _walk_object(schema, value, path, root, primary, own)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for i, item in enumerate(value):
            out += _walk(schema["items"], item, f"{path}[{i}]", root)
    out += _leaf_constraints(schema, value, path)
    return out


def _walk_object(
    schema: Mapping[str, Any], value: dict[str, Any], path: str, root: Mapping[str, Any], primary: bool, known: Mapping[str, Any]
) -> list[ShapeDiff]:
    out: list[ShapeDiff] = []
    properties: Mapping[str, Any] = schema.get("properties", {})
    for key, sub in properties.items():
        if key in value:
            out += _walk(sub, value[key], f"{path}.{key}", root)
    for key in schema.get("required", []):
        if key not in value:
            expected = _declared_types(known.get(key), root)
            shown = " or ".join(expected) if expected else "a value"
            out.append(("field_removed", f"{path}.{key}", f"required ({shown}), absent", expected, None))
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        if key in properties:
            continue
        if isinstance(extra, Mapping):
            out += _walk(extra, item, f"{path}.{key}", root)
        elif extra is not True and primary and properties and not _described_elsewhere(schema, key):
            out.append(("field_added", f"{path}.{key}", f"new field ({json_type(item)})", None, json_type(item)))
    return out


def _described_elsewhere(schema: Mapping[str, Any], key: str) -> bool:
    """Keys named by a conditional or combined subschema of the same object are not additions."""
    for keyword in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(keyword, []):
            if isinstance(sub, Mapping) and (key in sub.get("properties", {}) or _described_elsewhere(sub, key)):
                return True
    for keyword in ("then", "else"):
        sub = schema.get(keyword)
        if isinstance(sub, Mapping) and key in sub.get("properties", {}):
            return True
    return any(re.search(p, key) for p in schema.get("patternProperties", {}))


def _declared_types(schema: Any, root: Mapping[str, Any]) -> list[str]:
    if not isinstance(schema, Mapping):
        return []
    if "$ref" in schema:
        return _declared_types(_resolve(root, str(schema["$ref"])), root)
    declared = schema.get("type")
    if declared is not None:
        return [declared] if isinstance(declared, str) else list(declared)
    return []


def _leaf_constraints(schema: Mapping[str, Any], value: Any, path: str) -> list[ShapeDiff]:
    subset = {k: schema[k] for k in _LEAF_KEYWORDS if k in schema}
    if not subset:
        return []
    import jsonschema

    validator = jsonschema.Draft202012Validator(subset, format_checker=jsonschema.FormatChecker())
    return [
        ("constraint_violated", path, f"{e.message} ({e.validator})", e.validator_value, _short(value))
        for e in validator.iter_errors(value)
    ]


def _best_branch(branches: list[list[ShapeDiff]]) -> list[ShapeDiff]:
    """The alternative that fits best: fewest breaking differences, then fewest differences."""
    if not branches:
        return []

    def cost(raw: list[ShapeDiff]) -> tuple[int, int]:
        return (sum(1 for r in raw if r[0] in BREAKING), len(raw))

    return min(branches, key=cost)


def _resolve(root: Mapping[str, Any], ref: str) -> Any:
    node: Any = root
    if not ref.startswith("#/"):
        return {}
    for part in ref[2:].split("/"):
        node = node.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(node, Mapping) else {}
    return node


def _pair_renames(raw: list[ShapeDiff]) -> list[ShapeDiff]:
    """A missing required field and a new field of a matching type in the same object read as a rename."""
    removed = [r for r in raw if r[0] == "field_removed"]
    added = [r for r in raw if r[0] == "field_added"]
    pairs: list[tuple[float, ShapeDiff, ShapeDiff]] = []
    for gone in removed:
        parent, name = gone[1].rsplit(".", 1)
        for new in added:
            new_parent, new_name = new[1].rsplit(".", 1)
            if new_parent == parent and (not gone[3] or new[4] in gone[3] or (new[4] == "integer" and "number" in gone[3])):
                pairs.append((difflib.SequenceMatcher(None, name, new_name).ratio(), gone, new))
    used: set[int] = set()
    renamed: list[ShapeDiff] = []
    for _, gone, new in sorted(pairs, key=lambda p: -p[0]):
        if id(gone) in used or id(new) in used:
            continue
        used.update((id(gone), id(new)))
        old_name, new_name = gone[1].rsplit(".", 1)[1], new[1].rsplit(".", 1)[1]
        message = f"{old_name!r} is missing and {new_name!r} ({new[4]}) is new: renamed?"
        renamed.append(("field_renamed", gone[1], message, old_name, new_name))
    return [r for r in raw if id(r) not in used] + renamed


# --- paths ------------------------------------------------------------------------------------------


def generic_path(path: str) -> str:
    """``$.detail[0].type`` -> ``$.detail[*].type`` so that list items group together."""
    return re.sub(r"\[\d+\]", "[*]", path)


def get_value(body: Any, dotted: str) -> tuple[bool, Any]:
    node = body
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def select(body: Any, dotted: str, path: str = "$") -> Iterator[tuple[str, Any]]:
    """Values at a dotted path where ``*`` stands for every list item (or every value of an object)."""
    if not dotted:
        yield path, body
        return
    head, _, rest = dotted.partition(".")
    if head == "*":
        if isinstance(body, list):
            for i, item in enumerate(body):
                yield from select(item, rest, f"{path}[{i}]")
        elif isinstance(body, dict):
            for key, item in body.items():
                yield from select(item, rest, f"{path}.{key}")
    elif isinstance(body, dict) and head in body:
        yield from select(body[head], rest, f"{path}.{head}")


def leaves(body: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every scalar with its dotted path (list items as ``*``)."""
    if isinstance(body, dict):
        for key, value in body.items():
            yield from leaves(value, f"{path}.{key}" if path else str(key))
    elif isinstance(body, list):
        for item in body:
            yield from leaves(item, f"{path}.*" if path else "*")
    else:
        yield path, body


def _short(value: Any) -> Any:
    text = json.dumps(value, ensure_ascii=False)
    return value if len(text) <= 80 else text[:77] + "..."
