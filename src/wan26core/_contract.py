"""Contracts: each provider endpoint's facts as data, loaded once and checked against the contract schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from wan26core._errors import NativeError, PluginError
from wan26core._redaction import add_secret_names

__all__ = ["Contract", "builtin_contract", "contract_problems", "contract_schema"]

_PACKAGE = "wan26_contracts"


@cache
def packaged_schema(name: str) -> dict[str, Any]:
    """One of the JSON Schemas shipped beside the contracts (``contracts/schema/<name>.schema.json``)."""
    text = resources.files(_PACKAGE).joinpath("schema").joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def schema_problems(schema: dict[str, Any], data: Any) -> list[str]:
    """Every way ``data`` fails ``schema``, one ``path: message`` line each (``$`` for the top)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path)) or '$'}: {e.message}" for e in validator.iter_errors(data)]


def contract_schema() -> dict[str, Any]:
    """The JSON Schema every contract file satisfies (``contracts/schema/contract.schema.json``)."""
    return packaged_schema("contract")


def contract_problems(data: Any) -> list[str]:
    """Every way ``data`` fails the contract schema or its cross-references; empty when it is sound."""
    import jsonschema

    problems = schema_problems(contract_schema(), data)
    if not isinstance(data, dict):
        return problems
    known = set(data["sources"]) if isinstance(data.get("sources"), dict) else set()
    for path, source in _sources(data):
        if "#" in source and not source.startswith(("http://", "https://")) and source.split("#", 1)[0] not in known:
            problems.append(f"{path}: source {source!r} names no entry of `sources`")
    if problems:
        return problems
    from wan26core._rules.conditions import CONDITION_FIELDS  # the rules import contracts: loaded on use

    for i, rule in enumerate(data.get("conditional_limits") or []):
        unknown = sorted((set(rule["when"]) | set(rule["then"])) - CONDITION_FIELDS)
        if unknown:
            problems.append(
                f"conditional_limits/{i}: no canonical field {', '.join(unknown)} (known: {', '.join(sorted(CONDITION_FIELDS))})"
            )
    refs: dict[str, Any] = data.get("references") or {}
    if "media" in refs.get("wire", {}) and not (data["request"].get("media") or {}).get("types"):
        problems.append("references: wire.media needs request.media (its wire path and item types)")
    shared_numbering = isinstance(refs.get("token"), str)
    if shared_numbering and {"video", "image"} <= set(refs["wire"]) and refs["ordering"] != "videos_first":
        problems.append("references: separate video and image lists are numbered videos first; say ordering videos_first")
    request_schema = data["request"]["schema"]
    try:
        jsonschema.Draft202012Validator.check_schema(request_schema)
    except jsonschema.SchemaError as exc:
        problems.append(f"request/schema: not a valid JSON Schema: {exc.message}")
        return problems
    body_validator = jsonschema.Draft202012Validator(request_schema)
    for i, example in enumerate(data["examples"]):
        if example["kind"] == "request" and "breaks" not in example:  # `breaks`: documented as over a limit
            for err in body_validator.iter_errors(example["body"]):
                problems.append(f"examples/{i}: request body breaks request.schema: {err.message}")
    return problems


def _sources(node: Any, path: str = "$") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "source" and isinstance(value, str):
                yield path, value
            elif key not in ("schema", "body", "canonical"):
                yield from _sources(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _sources(value, f"{path}/{i}")


class Contract:
    """Read-only view of one endpoint's contract with the look-ups validation and rendering need."""

    def __init__(self, data: dict[str, Any], *, origin: str = "<memory>") -> None:
        self.data = data
        self.origin = origin
        self._by_rule: dict[str, NativeError] = {}
        for entry in data.get("errors", ()):
            native = NativeError(entry["http_status"], entry["code"], entry["message"])
            for rule in entry.get("rules", ()):
                self._by_rule.setdefault(rule, native)
        auth = data.get("transport", {}).get("auth") or {}
        add_secret_names(([str(auth["header"])] if auth.get("header") else []) + [str(v) for v in auth.get("env", ())])

    def __repr__(self) -> str:
        return f"<Contract {self.id} from {self.origin}>"

    @classmethod
    def load(cls, path: str | Path, *, check: bool = True) -> Contract:
        """Read a contract file; with ``check`` it must satisfy the schema or :class:`PluginError` says why."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PluginError(f"cannot read contract {path}: {exc}") from exc
        return cls.from_data(data, origin=str(path), check=check)

    @classmethod
    def from_data(cls, data: Any, *, origin: str = "<memory>", check: bool = True) -> Contract:
        if check:
            problems = contract_problems(data)
            if problems:
                listing = "\n  ".join(problems[:20])
                raise PluginError(f"contract {origin} does not satisfy contracts/schema:\n  {listing}")
        return cls(data, origin=origin)

    # --- identity ---------------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def task(self) -> str:
        return str(self.data["task"])

    @property
    def native_model(self) -> str:
        return str(self.data["native_model"])

    # --- sections ---------------------------------------------------------------------------------
    @property
    def limits(self) -> dict[str, Any]:
        return dict(self.data["limits"])

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.data["options"])

    @property
    def references(self) -> dict[str, Any] | None:
        refs = self.data.get("references")
        return dict(refs) if refs else None

    @property
    def transport(self) -> dict[str, Any]:
        return dict(self.data["transport"])

    @property
    def request_schema(self) -> dict[str, Any]:
        return dict(self.data["request"]["schema"])

    @property
    def wire_fields(self) -> dict[str, str]:
        return dict(self.data["request"]["fields"])

    @property
    def media(self) -> dict[str, Any]:
        """The media array of Wan 2.7 (``request.media``): its wire path, the item type of each slot and the voice
        key; empty when the endpoint has none."""
        return dict(self.data["request"].get("media") or {})

    @property
    def generation(self) -> str:
        """The model generation the endpoint serves (``"2.6"``, ``"2.7"``); contracts written before 2.7 may omit it."""
        return str(self.data.get("generation", "2.6"))

    @property
    def aliases(self) -> tuple[str, ...]:
        """Other model names that mean this endpoint (``r2v-2.6`` for ``r2v``)."""
        return tuple(self.data.get("aliases", ()))

    @property
    def conditional_limits(self) -> list[dict[str, Any]]:
        """Limits that apply when other fields have values (``conditional_limits``), as data."""
        return [dict(rule) for rule in self.data.get("conditional_limits", ())]

    def takes(self, slot: str) -> bool:
        """Whether the endpoint takes media ``slot`` (``first_frame``, ``last_frame``, ``clip``, ``audio``): a wire
        field of its own, an item type of the media array, or (audio) a supported ``audio_url`` option."""
        if slot in self.wire_fields or slot in self.media.get("types", {}):
            return True
        return slot == "audio" and bool(self.data["options"].get("audio_url", {}).get("supported"))

    @property
    def constants(self) -> dict[str, Any]:
        return dict(self.data["request"].get("constants", {}))

    @property
    def size_table(self) -> dict[str, dict[str, str]] | None:
        table = self.data["options"].get("size_table")
        return {k: dict(v) for k, v in table["tiers"].items()} if table else None

    def option(self, name: str) -> dict[str, Any]:
        return dict(self.data["options"][name])

    def supports(self, name: str) -> bool:
        return bool(self.data["options"][name]["supported"])

    def default(self, name: str) -> Any:
        return self.data["options"][name].get("default")

    def examples(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.data["examples"] if kind is None or e["kind"] == kind]

    def canonical_state(self, native_status: str) -> str:
        """Map a native status word to queued/running/succeeded/failed/cancelled/unknown."""
        return str(self.data["statuses"]["map"].get(native_status, "unknown"))

    # --- errors -----------------------------------------------------------------------------------
    def native_error(self, rule: str, *, field: str = "", limit: Any = None, value: Any = None) -> NativeError | None:
        """The provider's own error for a broken rule: exact rule, then its prefixes, then the ``*`` fallback.

        Catalogue messages may hold ``{field}``, ``{limit}``, ``{value}`` and ``{allowed}`` (a list of
        values spelled as pydantic does: ``'5' or '10'``), filled in from the violation.
        """
        parts = rule.split(".")
        hit = next((self._by_rule[k] for n in range(len(parts), 0, -1) if (k := ".".join(parts[:n])) in self._by_rule), None)
        hit = hit or self._by_rule.get("*")
        if hit is None or "{" not in hit.message:
            return hit
        known = {"field": field or None, "limit": limit, "value": value, "allowed": _allowed(limit)}
        facts = _Facts({k: v for k, v in known.items() if v is not None})
        return NativeError(hit.http_status, hit.code, hit.message.format_map(facts))

    def error(self, code: str) -> dict[str, Any] | None:
        """The catalogue entry for a native code."""
        return next((e for e in self.data["errors"] if e["code"] == code), None)


class _Facts(dict[str, Any]):
    """Placeholders left as written when the violation has no such fact."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _allowed(limit: Any) -> str | None:
    if not isinstance(limit, list) or not limit:
        return None
    quoted = [f"'{v}'" for v in limit]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def builtin_contract(relative: str) -> Contract:
    """Load one of the contracts shipped with wan26, e.g. ``builtin_contract("fal/r2v-flash")``."""
    return _builtin(relative)


@cache
def _builtin(relative: str) -> Contract:
    ref = resources.files(_PACKAGE)
    for part in f"{relative}.json".split("/"):
        ref = ref.joinpath(part)
    try:
        data = json.loads(ref.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PluginError(f"cannot read built-in contract {relative!r}: {exc}") from exc
    return Contract.from_data(data, origin=f"{_PACKAGE}/{relative}.json")
