"""Contract drift: compare recorded exchanges with what a contract says, and classify every difference.

Pure functions, no I/O. What a contract expects of each kind of response comes from its ``responses``
section (JSON Schema of the body, the headers official clients read, where native error codes sit) or,
when a kind has no entry, is inferred from the contract's examples. Status words are compared with
``statuses.map``, error codes with the ``errors`` catalogue, and the limits a refusal names with
``limits`` and the request schema. The drift classes and their severity are in :data:`DRIFT_CLASSES`
(documented in docs/contract-drift.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from wan26core._contract import Contract
from wan26core.drift._recordings import split_route
from wan26core.drift._refusals import refusal_drift
from wan26core.drift._shapes import compare, generic_path, get_value, infer_schema, json_type, leaves, select

# infer_schema and json_type are re-exported: what a contract without a `responses` section is held to

__all__ = [
    "DRIFT_CLASSES",
    "VOCABULARY_KINDS",
    "ExchangeCheck",
    "Expectation",
    "Finding",
    "LocatedExchange",
    "Severity",
    "check_exchange",
    "expectations",
    "infer_schema",
    "json_type",
]

Severity = Literal["breaking", "warning", "info"]

#: drift class -> (severity, what it means); additions are warnings, anything a client can trip over is breaking
DRIFT_CLASSES: dict[str, tuple[Severity, str]] = {
    "field_removed": ("breaking", "a field the contract requires is missing"),
    "field_renamed": ("breaking", "a required field is missing and a new field of the same type sits beside it"),
    "type_changed": ("breaking", "a field has another JSON type than the contract says"),
    "value_changed": ("breaking", "a value is outside the closed set (enum or const) the contract lists"),
    "constraint_violated": ("breaking", "a value breaks another rule of the contract's schema (pattern, format, range)"),
    "status_added": (
        "breaking",
        "a status word statuses.map does not know (clients cannot map it; an official client may raise)",
    ),
    "limit_tightened": ("breaking", "the provider refuses below a contract limit, or allows fewer enum values"),
    "header_removed": ("breaking", "a response header an official client reads is missing"),
    "header_changed": ("breaking", "a response header an official client reads has another value"),
    "body_not_json": ("breaking", "the body is not the JSON the contract describes"),
    "route_changed": ("breaking", "the request used another method or path than the contract's route"),
    "recording_invalid": ("breaking", "a recording file does not satisfy contracts/schema/recording.schema.json"),
    "scenario_failed": ("breaking", "verify-mock: the mock answered a scenario otherwise than the contract says"),
    "field_added": ("warning", "a field the contract does not describe"),
    "error_code_added": ("warning", "a native error code the errors catalogue does not list"),
    "http_status_added": ("warning", "an HTTP status the contract lists neither for the route nor in the catalogue"),
    "limit_relaxed": ("warning", "the provider allows more than a contract limit (larger maximum, more enum values)"),
    "request_relaxed": ("warning", "the provider accepted (or documents) a request the contract's request schema refuses"),
    "seed_stale": ("warning", "a seed recording differs from what the contract's examples generate now"),
    "contract_unknown": ("warning", "a recording names a contract no installed plugin provides"),
    "status_unobserved": ("info", "a status word of statuses.map that no exchange shows"),
}

_SUCCESS_KINDS = ("submit", "status", "stream", "result", "cancel")
VOCABULARY_KINDS = ("submit", "status", "stream", "result")
_EXAMPLE_KINDS = {
    "submit": ("submit_response",),
    "status": ("status_response",),
    "result": ("result_response",),
    "cancel": ("cancel_response",),
    "error": ("error_response",),
    "webhook": ("webhook",),
    "stream": ("stream_event",),
}
_LIMIT_KEYWORDS = ("maxLength", "minLength", "maxItems", "minItems", "maximum", "minimum", "enum", "const")


# --- findings ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One difference between an exchange and its contract."""

    contract: str
    drift: str  # a key of DRIFT_CLASSES
    kind: str  # submit, status, result, cancel, error, webhook, request, vocabulary, recording
    path: str  # JSON path in the body ("$.video.url"), a header name, or "" for the whole exchange
    message: str
    where: str = ""  # the recording and exchange it was seen in
    expected: Any = None
    actual: Any = None

    @property
    def severity(self) -> Severity:
        return DRIFT_CLASSES[self.drift][0]

    def key(self) -> tuple[str, str, str, str, str]:
        return (self.contract, self.drift, self.kind, self.path, self.message)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "severity": self.severity}


@dataclass(frozen=True)
class LocatedExchange:
    """An exchange and where it comes from (``fal/r2v/seed-examples.json#3`` or ``contract example``)."""

    exchange: Mapping[str, Any]
    where: str


# --- what the contract expects ----------------------------------------------------------------------


@dataclass(frozen=True)
class Expectation:
    """What a contract says about one kind of response."""

    schema: Mapping[str, Any] | None
    headers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    error_code: tuple[str, ...] = ()
    job_id: str | None = None
    inferred: bool = False


def expectations(contract: Contract) -> dict[str, Expectation]:
    """Each response kind's expectation: the ``responses`` entry, else one inferred from the examples."""
    section: Mapping[str, Any] = contract.data.get("responses") or {}
    shared: dict[str, Mapping[str, Any]] = dict(section.get("headers", {}))
    known_codes = _known_codes(contract)
    out: dict[str, Expectation] = {}
    for kind in _EXAMPLE_KINDS:
        entry = section.get(kind)
        if entry is None and kind == "result" and _same_route(contract, "result", "status"):
            entry = section.get("status")
        if entry is not None:
            out[kind] = Expectation(
                schema=entry["schema"],
                headers={**shared, **{k.lower(): v for k, v in entry.get("headers", {}).items()}},
                error_code=tuple(entry.get("error_code", ())),
                job_id=entry.get("job_id"),
            )
            continue
        bodies = _example_bodies(contract, kind)
        if not bodies and kind == "result" and _same_route(contract, "result", "status"):
            bodies = _example_bodies(contract, "status")
        if bodies:
            paths = sorted({p for b in bodies for p, v in leaves(b) if isinstance(v, (str, int)) and str(v) in known_codes})
            out[kind] = Expectation(schema=infer_schema(bodies), headers=dict(shared), error_code=tuple(paths), inferred=True)
        elif shared:
            out[kind] = Expectation(schema=None, headers=dict(shared), inferred=True)
    return out


def _example_bodies(contract: Contract, kind: str) -> list[Any]:
    bodies = [e["body"] for e in contract.data["examples"] if e["kind"] in _EXAMPLE_KINDS[kind]]
    if kind == "error":
        bodies += [e["body"] for e in contract.data["errors"] if e.get("body") is not None]
    return bodies


def _same_route(contract: Contract, a: str, b: str) -> bool:
    routes = contract.transport["routes"]
    return a in routes and b in routes and (routes[a]["method"], routes[a]["path"]) == (routes[b]["method"], routes[b]["path"])


# --- one exchange -----------------------------------------------------------------------------------


def check_exchange(contract: Contract, exchange: Mapping[str, Any], where: str = "") -> list[Finding]:
    """Every drift one exchange shows against ``contract``."""
    return ExchangeCheck(contract, exchange, where, expectations(contract)).run()


class ExchangeCheck:
    def __init__(self, contract: Contract, exchange: Mapping[str, Any], where: str, expected: dict[str, Expectation]) -> None:
        self.contract = contract
        self.exchange = exchange
        self.where = where
        self.expected = expected
        self.findings: list[Finding] = []

    def add(self, drift: str, kind: str, path: str, message: str, expected: Any = None, actual: Any = None) -> None:
        self.findings.append(Finding(self.contract.id, drift, kind, path, message, self.where, expected, actual))

    def run(self) -> list[Finding]:
        action = str(self.exchange["action"])
        request = self.exchange.get("request")
        response = self.exchange.get("response")
        if isinstance(request, Mapping):
            self._route(action, request)
            if action == "webhook":
                self._body("webhook", request.get("body"), None)
            elif action == "submit" and "breaks" not in self.exchange and _accepted(self.contract, response):
                self._request_body(request.get("body"))
        if isinstance(response, Mapping):
            kind = self._kind(action, response.get("status"))
            self._headers(kind, response.get("headers"))
            self._body(kind, response.get("body"), response.get("status"))
        return self.findings

    # --- route and status -------------------------------------------------------------------------
    def _route(self, action: str, request: Mapping[str, Any]) -> None:
        route = self.contract.transport["routes"].get(action)
        path = str(request.get("path", ""))
        if route is None or path.startswith("{"):
            return
        template, _ = split_route(str(route["path"]))
        pattern = re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in re.split(r"(\{[^}]+\})", template)))
        same_path = pattern.fullmatch(path) is not None or path == template
        if str(request.get("method", "")).upper() != str(route["method"]).upper() or not same_path:
            self.add(
                "route_changed",
                action,
                "",
                f"{request.get('method')} {path}; the contract routes {action} to {route['method']} {template}",
                expected=f"{route['method']} {template}",
                actual=f"{request.get('method')} {path}",
            )

    def _kind(self, action: str, status: Any) -> str:
        if action not in _SUCCESS_KINDS:
            return "error" if action == "error" else action
        if status is None:
            return action
        route = self.contract.transport["routes"].get(action, {})
        success = route.get("success_status") or list(range(200, 300))
        if status in success:
            return action
        if 200 <= status < 300:
            self.add(
                "http_status_added",
                action,
                "",
                f"{action} answered HTTP {status}; the contract lists {', '.join(map(str, success))}",
                expected=success,
                actual=status,
            )
            return action
        return "error"

    # --- headers ----------------------------------------------------------------------------------
    def _headers(self, kind: str, headers: Any) -> None:
        expectation = self.expected.get(kind)
        if expectation is None or not isinstance(headers, Mapping):
            return  # null: headers were not recorded
        present = {str(k).lower(): str(v) for k, v in headers.items()}
        documented = str(self.exchange.get("origin", "")).startswith("seed:")  # documents show a few headers, not all
        for name, rule in expectation.headers.items():
            value = present.get(name.lower())
            if value is None:
                if not documented:
                    self.add("header_removed", kind, name, f"header {name} is missing ({rule['source']})", expected=name)
            elif rule.get("contains") and str(rule["contains"]).lower() not in value.lower():
                self.add(
                    "header_changed",
                    kind,
                    name,
                    f"header {name} is {value!r}; expected it to contain {rule['contains']!r}",
                    expected=rule["contains"],
                    actual=value,
                )

    # --- bodies -----------------------------------------------------------------------------------
    def _body(self, kind: str, body: Any, status: Any) -> None:
        expectation = self.expected.get(kind)
        if expectation is not None and expectation.schema is not None:
            if isinstance(body, str) and _wants_structure(expectation.schema):
                shown = body if len(body) <= 60 else body[:57] + "..."
                self.add("body_not_json", kind, "$", f"the body is text, not JSON: {shown!r}", actual=shown)
                return
            for drift, path, message, expected, actual in compare(expectation.schema, body):
                self.add(drift, kind, generic_path(path), message, expected, actual)
        if kind in VOCABULARY_KINDS:
            self._vocabulary(kind, body)
        codes = self._codes(kind, body, status, expectation)
        if kind == "error" and isinstance(status, int):
            catalogued = {e["http_status"] for e in self.contract.data["errors"]}
            if status not in catalogued:
                self.add(
                    "http_status_added",
                    kind,
                    "",
                    f"HTTP {status} is not in the errors catalogue",
                    expected=sorted(s for s in catalogued if s is not None),
                    actual=status,
                )
        if kind in ("error", "status", "result", "submit"):
            self._limits(kind, body, status, codes)

    def _vocabulary(self, kind: str, body: Any) -> None:
        statuses = self.contract.data["statuses"]
        found, value = get_value(body, str(statuses["field"]))
        if found and isinstance(value, str) and value not in statuses["map"]:
            self.add(
                "status_added",
                "vocabulary",
                "$." + str(statuses["field"]),
                f"status {value!r} is not in statuses.map ({', '.join(statuses['map'])})",
                expected=sorted(statuses["map"]),
                actual=value,
            )

    def _codes(self, kind: str, body: Any, status: Any, expectation: Expectation | None) -> set[str]:
        if expectation is None:
            return set()
        known = _known_codes(self.contract)
        codes: set[str] = set()
        for path in expectation.error_code:
            for concrete, value in select(body, path):
                if not isinstance(value, (str, int)) or isinstance(value, bool):
                    continue
                code = str(value)
                codes.add(code)
                if code not in known and code != str(status):
                    self.add(
                        "error_code_added",
                        kind,
                        generic_path(concrete),
                        f"error code {code!r} is not in the errors catalogue",
                        actual=code,
                    )
        return codes

    def _limits(self, kind: str, body: Any, status: Any, codes: set[str]) -> None:
        for drift, path, message, expected, actual in refusal_drift(self.contract, body, status, codes):
            self.add(drift, kind, path, message, expected, actual)

    # --- requests ---------------------------------------------------------------------------------
    def _request_body(self, body: Any) -> None:
        if not isinstance(body, dict):
            return
        import jsonschema

        validator = jsonschema.Draft202012Validator(self.contract.request_schema)
        for error in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path))):
            path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
            drift = "limit_relaxed" if error.validator in _LIMIT_KEYWORDS else "request_relaxed"
            self.add(
                drift,
                "request",
                generic_path(path),
                f"accepted, but the request schema says {error.validator} {_short(error.validator_value)}; "
                f"got {_describe(error.instance)}",
                expected=error.validator_value if error.validator in _LIMIT_KEYWORDS else None,
                actual=_short(error.instance),
            )


def _accepted(contract: Contract, response: Any) -> bool:
    """A request counts as accepted when it is documented (no response) or answered with a success status."""
    if not isinstance(response, Mapping):
        return True
    status = response.get("status")
    if status is None:
        return True
    success = contract.transport["routes"]["submit"].get("success_status") or list(range(200, 300))
    return status in success and not _has_error(response.get("body"))


def _has_error(body: Any) -> bool:
    return isinstance(body, dict) and (body.get("status") == "failed" or isinstance(body.get("error"), dict))


def _wants_structure(schema: Mapping[str, Any]) -> bool:
    declared = schema.get("type")
    kinds = {declared} if isinstance(declared, str) else set(declared or ())
    if not kinds:
        branches = list(schema.get("anyOf", [])) + list(schema.get("oneOf", []))
        return any(_wants_structure(b) for b in branches if isinstance(b, Mapping))
    return "string" not in kinds and bool(kinds & {"object", "array"})


def _describe(value: Any) -> str:
    if isinstance(value, str) and len(value) > 40:
        return f"a string of {len(value)} characters"
    if isinstance(value, list):
        return f"a list of {len(value)} item(s)"
    if isinstance(value, dict):
        return f"an object with {', '.join(map(str, value)) or 'no keys'}"
    return json.dumps(value, ensure_ascii=False)


def _short(value: Any) -> Any:
    text = json.dumps(value, ensure_ascii=False)
    return value if len(text) <= 80 else text[:77] + "..."


def _known_codes(contract: Contract) -> set[str]:
    codes = {str(e["code"]) for e in contract.data["errors"]}
    return codes | {str(e["http_status"]) for e in contract.data["errors"] if e["http_status"] is not None}


# --- every exchange of a contract -------------------------------------------------------------------
