"""An OpenAPI 3.1 document of the mock's surface, generated from the contracts.

Every route the providers' dialects serve, with the request body schema of each model that route takes
(``request.schema``), the response schemas of ``responses`` (or those inferred from the examples) for the
route's success statuses, for every HTTP status of the errors catalogue and, on a submit, for the provider's
generic refusal (``request.validation.answer``); the response headers the official clients read; each provider's
auth scheme; and on each submit's success answers, the OpenAPI ``links`` that carry its job id
(``responses.submit.job_id``) to the status, result, cancel and stream routes of the same job (what Schemathesis's
stateful testing follows). Pure: the same document for the CLI (``wan26 contracts openapi``) and the mock
(``GET /__wan26__/openapi.json``).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

from wan26core._contract import Contract
from wan26core._dialect import Dialect
from wan26core._plugins import Registry
from wan26core._rules.wire_schema import wire_validation
from wan26core.drift._drift import Expectation, expectations
from wan26core.drift._recordings import split_route

__all__ = ["openapi_document", "surfaces"]

OPENAPI_VERSION = "3.1.0"


def surfaces(registry: Registry) -> tuple[dict[str, Dialect], dict[str, dict[str, Contract]]]:
    """The dialects of a registry and, per dialect provider, the contracts it serves (as the mock engine groups them)."""
    dialects: dict[str, Dialect] = {}
    contracts: dict[str, dict[str, Contract]] = {}
    for provider_id, provider in registry.providers().items():
        dialect = provider.dialect
        if dialect is None:
            continue
        dialects.setdefault(dialect.provider, dialect)
        contracts.setdefault(dialect.provider, {})[provider_id] = provider.contract
    return dialects, contracts


def openapi_document(
    dialects: Mapping[str, Dialect],
    contracts: Mapping[str, Mapping[str, Contract]],
    *,
    server_url: str = "http://127.0.0.1:8000",
    version: str = "0",
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route the dialects serve."""
    paths: dict[str, dict[str, Any]] = {}
    schemes: dict[str, Any] = {}
    submits: list[tuple[dict[str, Any], dict[str, Contract]]] = []
    for name in sorted(dialects):
        served = contracts.get(name, {})
        if not served:
            continue
        scheme_name = f"{name}_key"
        schemes[scheme_name] = _security_scheme(next(iter(served.values())))
        for route in dialects[name].routes():
            path = route.path.split("?", 1)[0]
            here = {cid: c for cid, c in served.items() if _routes_here(c, route.action, route.method, path)} or dict(served)
            operation = _operation(name, route.action, route.method.upper(), path, here, scheme_name)
            paths.setdefault(path, {})[route.method.lower()] = operation
            if route.action == "submit":
                submits.append((operation, here))
    for operation, here in submits:
        _link_job(operation, here, paths)
    return {
        "openapi": OPENAPI_VERSION,
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "wan26 mock: provider surfaces generated from the contracts",
            "version": version,
            "description": "Each path is a provider route as the wan26 mock serves it; "
            "schemas come from contracts/<provider>/<model>.json.",
        },
        "servers": [{"url": server_url}],
        "paths": dict(sorted(paths.items())),
        "components": {"securitySchemes": schemes},
    }


#: The routes that take the job id a submit answers, in link order, and what each does with the job.
_JOB_ACTIONS = {
    "status": "polls its status",
    "result": "fetches its result",
    "cancel": "cancels it",
    "stream": "streams its status",
}


def _link_job(submit: dict[str, Any], served: Mapping[str, Contract], paths: Mapping[str, Mapping[str, Any]]) -> None:
    """OpenAPI links on the submit's success answers: its job id (``responses.submit.job_id``, a dotted path in the
    body) goes to the parameter that names the job in each of the contract's job routes (path or query, as the
    route template has it). One link per target operation: a route serving two actions (AI/ML API and DashScope
    answer status and result on one GET) makes one link named after both."""
    found: dict[tuple[str, str], tuple[list[str], dict[str, str]]] = {}  # (operationId, parameters) -> actions
    for contract_id in sorted(served):
        contract = served[contract_id]
        submitted = expectations(contract).get("submit")
        if submitted is None or not submitted.job_id:
            continue
        pointer = "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in submitted.job_id.split("."))
        for action in _JOB_ACTIONS:
            spec = contract.transport["routes"].get(action)
            if spec is None:
                continue
            path, query = split_route(str(spec["path"]))
            target = paths.get(path, {}).get(str(spec["method"]).lower())
            names = [f"path.{p}" for p in re.findall(r"\{([a-z_]+)\}", path)]
            names += [f"query.{q}" for q, value in query.items() if re.fullmatch(r"\{[a-z_]+\}", value)]
            if target is None or not names:
                continue
            parameters = {name: f"$response.body#{pointer}" for name in names}
            key = (str(target["operationId"]), json.dumps(parameters, sort_keys=True))
            actions, _ = found.setdefault(key, ([], parameters))
            if action not in actions:
                actions.append(action)
    links: dict[str, dict[str, Any]] = {}
    for (operation_id, _), (actions, parameters) in found.items():
        name = "_and_".join(actions)
        links[name if name not in links else f"{name}{len(links)}"] = {
            "operationId": operation_id,
            "parameters": parameters,
            "description": "the job this submit created: " + " and ".join(_JOB_ACTIONS[a] for a in actions),
        }
    for status, response in submit["responses"].items():
        if links and status.startswith("2"):
            response["links"] = copy.deepcopy(links)


def _routes_here(contract: Contract, action: str, method: str, path: str) -> bool:
    spec = contract.transport["routes"].get(action)
    return spec is not None and str(spec["method"]).upper() == method.upper() and split_route(str(spec["path"]))[0] == path


def _security_scheme(contract: Contract) -> dict[str, Any]:
    auth = contract.transport["auth"]
    if str(auth["scheme"]).lower() == "bearer" and str(auth["header"]).lower() == "authorization":
        return {"type": "http", "scheme": "bearer", "description": f"Bearer <{auth['env'][0]}>"}
    return {
        "type": "apiKey",
        "in": "header",
        "name": auth["header"],
        "description": f"{auth['scheme']} <{auth['env'][0]}> (the word {auth['scheme']!r}, a space, then the key)",
    }


def _operation(provider: str, action: str, method: str, path: str, served: Mapping[str, Contract], scheme: str) -> dict[str, Any]:
    ids = sorted(served)
    first = served[ids[0]]
    operation: dict[str, Any] = {
        "operationId": re.sub(r"[^A-Za-z0-9_]", "_", f"{provider}_{action}_{method}_{path}").strip("_"),
        "tags": [provider],
        "summary": f"{provider} {action}",
        "description": f"{action} for {', '.join(ids)}",
        "security": [{scheme: []}],
        "x-wan26-contracts": ids,
    }
    parameters = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for p in re.findall(r"\{([a-z_]+)\}", path)
    ]
    route = first.transport["routes"].get(action, {})
    _, query = split_route(str(route.get("path", "")))
    parameters += [{"name": q, "in": "query", "required": True, "schema": {"type": "string", "minLength": 1}} for q in query]
    if action == "submit":
        for header, value in first.transport.get("headers", {}).items():
            parameters.append({"name": header, "in": "header", "required": True, "schema": {"type": "string", "enum": [value]}})
        bodies = _unique([_served_body(c) for c in served.values()])
        schema = bodies[0] if len(bodies) == 1 else {"oneOf": bodies}
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    if parameters:
        operation["parameters"] = parameters
    operation["responses"] = _responses(action, served)
    return operation


def _responses(action: str, served: Mapping[str, Contract]) -> dict[str, Any]:
    success: dict[int, list[Expectation]] = {}
    errors: dict[int, list[Expectation]] = {}
    for contract in served.values():
        expected = expectations(contract)
        kind = "status" if action == "status" else action
        route = contract.transport["routes"].get(action, {})
        for status in route.get("success_status") or [200]:
            if kind in expected:
                success.setdefault(int(status), []).append(expected[kind])
        statuses = [entry["http_status"] for entry in contract.data["errors"] if entry["http_status"] is not None]
        if action == "submit":  # the provider's generic refusal of a body (request.validation.answer)
            statuses.append(wire_validation(contract)["answer"]["http_status"])
        for status in statuses:
            if "error" in expected:
                errors.setdefault(int(status), []).append(expected["error"])
    out: dict[str, Any] = {}
    for status, found in sorted({**errors, **success}.items()):
        out[str(status)] = _response(found, "success" if status in success else "error")
    if action == "stream":  # server-sent events: one status body per `data:` line
        for contract in served.values():
            status_body = expectations(contract).get("status")
            for status in contract.transport["routes"]["stream"].get("success_status") or [200]:
                out[str(status)] = {
                    "description": "server-sent events, each `data:` line a status body",
                    "content": {"text/event-stream": {"schema": _event(status_body.schema if status_body else None)}},
                }
    return out or {"default": {"description": "not described by the contract"}}


def _event(data: Any) -> dict[str, Any]:
    """One server-sent event, its ``data`` a JSON status body. Before OpenAPI 3.2's ``itemSchema``, the schema of a
    ``text/event-stream`` describes each event (the reading Schemathesis and other tools take)."""
    field: dict[str, Any] = {"type": "string", "contentMediaType": "application/json"}
    if data is not None:
        field["contentSchema"] = _plain(data)
    return {
        "type": "object",
        "required": ["data"],
        "properties": {"data": field, "event": {"type": "string"}, "id": {"type": "string"}, "retry": {"type": "integer"}},
    }


def _response(found: list[Expectation], what: str) -> dict[str, Any]:
    schemas = _unique([_plain(e.schema) for e in found if e.schema is not None])
    response: dict[str, Any] = {"description": f"{what}, as the contract describes it"}
    if schemas:
        schema = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
        response["content"] = {"application/json": {"schema": schema}}
    required = set.intersection(*[{h for h in e.headers if h != "content-type"} for e in found]) if found else set()
    if required:
        response["headers"] = {h: {"required": True, "schema": {"type": "string"}} for h in sorted(required)}
    return response


def _plain(schema: Any) -> dict[str, Any]:
    """A copy without ``$schema`` (the document's jsonSchemaDialect says it once)."""
    copied: dict[str, Any] = copy.deepcopy(dict(schema))
    copied.pop("$schema", None)
    return copied


def _served_body(contract: Contract) -> dict[str, Any]:
    """The request schema as the provider's server applies it: where it ignores unknown fields (the contract's
    ``request.validation.extra_fields``), objects are open."""
    schema = _plain(contract.request_schema)
    if wire_validation(contract)["extra_fields"] == "ignore":
        _open(schema)
    return schema


def _open(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("additionalProperties") is False:
            del node["additionalProperties"]
        for value in node.values():
            _open(value)
    elif isinstance(node, list):
        for value in node:
            _open(value)


def _unique(schemas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for schema in schemas:
        seen.setdefault(json.dumps(schema, sort_keys=True), schema)
    return list(seen.values())
