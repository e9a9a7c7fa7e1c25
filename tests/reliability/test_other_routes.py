"""Schemathesis against the mock routes the generated OpenAPI document leaves out (tests/contract_drift covers the
provider routes): fal's storage protocol (tokens, initiate, uploads, multipart parts, objects), the webhook JWKS and
the admin API. The document below is written from ``wan26_fal.storage`` and ``Engine._admin``; positive and negative
data, no server errors. ``POST /scenarios`` is left out on purpose: a queued ``server_error`` is a 5xx asked for.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from relykit import FULL
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode

from schemakit import failure_codes
from support import builtin_registry
from wan26_mock import Engine, create_app

EXAMPLES = 60 if FULL else 3
HEX16 = {"type": "string", "pattern": "^[0-9a-f]{16}$"}
NAME = {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}


def _op(*params: dict[str, Any], body: str | None = None, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {"responses": {"default": {"description": "any"}}, "parameters": list(params)}
    if body == "json":
        operation["requestBody"] = {"content": {"application/json": {"schema": schema or {"type": "object"}}}}
    elif body == "bytes":
        operation["requestBody"] = {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
    return operation


def _path(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or NAME}


def _query(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema or {"type": "string"}}


PAGE = {"type": "integer", "minimum": 1, "maximum": 1000}  # negative data: anything else, NaN and huge numbers included
AUTH = {"name": "Authorization", "in": "header", "required": True, "schema": {"type": "string", "enum": ["Key wan26-test"]}}
BEARER = {"name": "Authorization", "in": "header", "required": False, "schema": {"type": "string"}}
STORAGE = _query("storage_type", {"type": "string", "enum": ["fal-cdn-v3", "gcs"]})
INITIATE = {
    "type": "object",
    "properties": {"file_name": {"type": "string"}, "content_type": {"type": "string"}},
    "required": ["file_name", "content_type"],
}
PARTS = {
    "type": "object",
    "properties": {
        "parts": {
            "type": "array",
            "items": {"type": "object", "properties": {"partNumber": {"type": "integer"}, "etag": {"type": "string"}}},
        }
    },
    "required": ["parts"],
}
OBJECT = "/files/{folder}/{name}"
MULTIPART = OBJECT + "/multipart/{upload}"
UPLOAD_ID = {"type": "string", "pattern": "^[0-9a-f]{24}$"}
DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "wan26 mock: storage, JWKS and admin routes", "version": "1"},
    "paths": {
        "/storage/auth/token": {"post": _op(AUTH, STORAGE, body="json")},
        "/storage/upload/initiate": {"post": _op(AUTH, STORAGE, body="json", schema=INITIATE)},
        "/storage/upload/initiate-multipart": {"post": _op(AUTH, STORAGE, body="json", schema=INITIATE)},
        "/files/upload": {"post": _op(BEARER, body="bytes")},
        "/files/upload/multipart": {"post": _op(BEARER, body="bytes")},
        OBJECT: {
            "get": _op(_path("folder", HEX16), _path("name")),
            "head": _op(_path("folder", HEX16), _path("name")),
            "put": _op(_path("folder", HEX16), _path("name"), body="bytes"),
        },
        MULTIPART + "/{part}": {
            "put": _op(_path("folder", HEX16), _path("name"), _path("upload", UPLOAD_ID), _path("part"), body="bytes")
        },
        MULTIPART + "/complete": {
            "post": _op(_path("folder", HEX16), _path("name"), _path("upload", UPLOAD_ID), body="json", schema=PARTS)
        },
        "/.well-known/jwks.json": {"get": _op()},
        "/__wan26__/health": {"get": _op()},
        "/__wan26__/openapi.json": {"get": _op()},
        "/__wan26__/journal": {
            "get": _op(_query("provider"), _query("action"), _query("job_id"), _query("after", PAGE), _query("limit", PAGE))
        },
        "/__wan26__/webhooks": {"get": _op(_query("job_id"), _query("offset", PAGE), _query("limit", PAGE))},
        "/__wan26__/clock": {"get": _op()},
        "/__wan26__/clock/advance": {
            "post": _op(body="json", schema={"type": "object", "properties": {"seconds": {"type": "number", "minimum": 0}}})
        },
        "/__wan26__/scenarios": {
            "get": _op(),
            "post": _op(body="json", schema={"type": "object", "properties": {"scenario": {"type": "string"}, "count": {}}}),
        },
        "/__wan26__/jobs": {"get": _op(_query("offset", PAGE), _query("limit", PAGE))},
        "/__wan26__/jobs/{job_id}": {"get": _op(_path("job_id"))},
        "/__wan26__/files/{name}": {"get": _op(_path("name")), "head": _op(_path("name"))},
        "/__wan26__/reset": {"post": _op(body="json")},
    },
}


#: operations that take any input (any bytes, any path segment): no negative data exists for them
ANY_INPUT = {
    "POST /files/upload",
    "POST /files/upload/multipart",
    "GET /__wan26__/jobs/{job_id}",
    "GET /__wan26__/files/{name}",
    "HEAD /__wan26__/files/{name}",
}


def test_the_document_covers_every_route_left_out_of_the_generated_one() -> None:
    engine = Engine(builtin_registry(), seed=3, frozen_clock=True)
    assert engine.storage is not None
    assert "/.well-known/jwks.json" in engine._jwks_paths  # what fal's contract names


def _nothing_to_send_wrong(operation: Any) -> bool:
    raw = operation.definition.raw
    return operation.label in ANY_INPUT or not (raw["parameters"] or "requestBody" in raw)


def _failures(mode: Any) -> dict[str, set[str]]:
    engine = Engine(builtin_registry(), seed=3, frozen_clock=True)
    schema = schemathesis.openapi.from_dict(DOCUMENT)
    schema.app = create_app(engine=engine)
    skip = _nothing_to_send_wrong if mode is GenerationMode.NEGATIVE else (lambda operation: False)
    return failure_codes(schema, mode, [not_a_server_error], EXAMPLES, skip)


def test_schemathesis_finds_no_server_error_on_the_other_routes() -> None:
    assert _failures(GenerationMode.POSITIVE) == {}
    assert _failures(GenerationMode.NEGATIVE) == {}
