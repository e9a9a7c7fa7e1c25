"""The OpenAPI document of the mock's surface, served by the mock, and a bounded Schemathesis run against the app.

Schemathesis (positive data): no server errors, every documented response conforms to its schema, the headers
the official clients read are there. Negative data: no server errors, and schema-violating requests are refused,
with any known leniency listed in ``MOCK_ACCEPTS_INVALID``.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, response_headers_conformance, response_schema_conformance
from starlette.testclient import TestClient

from schemakit import failure_codes
from support import CONTRACTS, builtin_registry
from wan26_mock import Engine, create_app
from wan26core.drift._openapi import openapi_document, surfaces

MAX_EXAMPLES = 6
AUTH = {"fal": "Key wan26-test", "aimlapi": "Bearer wan26-test", "dashscope": "Bearer wan26-test", "vtrix": "Bearer wan26-test"}
#: Submit routes whose refusals Schemathesis counts as acceptance (ST201 only; a server error still fails). Every
#: provider's body is checked against its whole schema (wan26core._rules.wire_schema), but Vtrix answers its documented
#: task-level codes (001028001-004: the references) inside an HTTP 200 body ({"status": "failed", "error": …}).
MOCK_ACCEPTS_INVALID: set[str] = {"POST /model/v1/generation"}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(builtin_registry(), seed=3, frozen_clock=True)


@pytest.fixture(scope="module")
def document(engine: Engine) -> dict[str, Any]:
    dialects, contracts = surfaces(builtin_registry())
    return openapi_document(dialects, contracts, server_url="http://mock.test")


def test_every_route_the_mock_serves_is_documented(engine: Engine, document: dict[str, Any]) -> None:
    for dialect in engine.dialects.values():
        for route in dialect.routes():
            operation = document["paths"][route.path.split("?")[0]][route.method.lower()]
            assert operation["tags"] == [dialect.provider]
            assert operation["security"] == [{f"{dialect.provider}_key": []}]
            assert set(operation["x-wan26-contracts"]) <= set(CONTRACTS)
    status = document["paths"]["/v2/video/generations"]["get"]
    assert status["parameters"] == [
        {"name": "generation_id", "in": "query", "required": True, "schema": {"type": "string", "minLength": 1}}
    ]


def test_request_bodies_and_responses_come_from_the_contracts(document: dict[str, Any]) -> None:
    flash = document["paths"]["/wan/v2.6/reference-to-video/flash"]["post"]
    expected = {
        k: v for k, v in CONTRACTS["fal/r2v-flash"].request_schema.items() if k not in ("$schema", "additionalProperties")
    }
    # the contract's schema as fal's server applies it: unknown fields are ignored (request.validation.extra_fields)
    assert flash["requestBody"]["content"]["application/json"]["schema"] == expected
    assert flash["x-wan26-contracts"] == ["fal/r2v-flash"]
    dashscope = document["paths"]["/api/v1/services/aigc/video-generation/video-synthesis"]["post"]
    models = {
        s["properties"]["model"]["const"] for s in dashscope["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
    }
    assert models == {"wan2.6-r2v", "wan2.6-r2v-flash", "wan2.6-i2v", "wan2.7-r2v", "wan2.7-i2v"}
    assert {"name": "X-DashScope-Async", "in": "header", "required": True, "schema": {"type": "string", "enum": ["enable"]}} in (
        dashscope["parameters"]
    )
    result = document["paths"]["/wan/v2.6/requests/{request_id}"]["get"]["responses"]
    assert result["200"]["headers"] == {"x-fal-request-id": {"required": True, "schema": {"type": "string"}}}
    assert result["200"]["content"]["application/json"]["schema"]["required"] == ["video", "seed"]
    assert {"401", "422", "429", "504"} <= set(result)
    stream = document["paths"]["/wan/v2.6/requests/{request_id}/status/stream"]["get"]["responses"]["200"]
    assert list(stream["content"]) == ["text/event-stream"]
    # before OpenAPI 3.2's itemSchema, an event stream's schema describes one event: its data is a status body
    event = stream["content"]["text/event-stream"]["schema"]
    status = document["paths"]["/wan/v2.6/requests/{request_id}/status"]["get"]["responses"]["200"]
    assert event["required"] == ["data"]
    assert event["properties"]["data"]["contentSchema"] == status["content"]["application/json"]["schema"]
    # the provider's generic refusal of a body is documented where the errors catalogue has no status for it
    assert "400" in document["paths"]["/model/v1/generation"]["post"]["responses"]
    schemes = document["components"]["securitySchemes"]
    assert schemes["fal_key"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": schemes["fal_key"]["description"],
    }
    assert schemes["dashscope_key"]["scheme"] == "bearer"


def test_submit_answers_link_their_job_id_to_the_jobs_own_routes(document: dict[str, Any]) -> None:
    labels = {op["operationId"]: f"{m.upper()} {p}" for p, item in document["paths"].items() for m, op in item.items()}

    def links(path: str, status: str = "200") -> dict[str, tuple[str, dict[str, str]]]:
        found = document["paths"][path]["post"]["responses"][status]["links"]
        return {name: (labels[link["operationId"]], link["parameters"]) for name, link in found.items()}

    fal = {"path.request_id": "$response.body#/request_id"}
    for submit in ("/wan/v2.6/image-to-video", "/wan/v2.6/reference-to-video", "/wan/v2.6/reference-to-video/flash"):
        assert links(submit) == {
            "status": ("GET /wan/v2.6/requests/{request_id}/status", fal),
            "result": ("GET /wan/v2.6/requests/{request_id}", fal),
            "cancel": ("PUT /wan/v2.6/requests/{request_id}/cancel", fal),
            "stream": ("GET /wan/v2.6/requests/{request_id}/status/stream", fal),
        }
    aimlapi = {"status_and_result": ("GET /v2/video/generations", {"query.generation_id": "$response.body#/id"})}
    assert links("/v2/video/generations", "200") == links("/v2/video/generations", "201") == aimlapi
    dashscope = {"path.task_id": "$response.body#/output/task_id"}  # responses.submit.job_id: output.task_id
    assert links("/api/v1/services/aigc/video-generation/video-synthesis") == {
        "status_and_result": ("GET /api/v1/tasks/{task_id}", dashscope),
        "cancel": ("POST /api/v1/tasks/{task_id}/cancel", dashscope),
    }
    assert links("/model/v1/generation") == {
        "status_and_result": ("GET /model/v1/generation/task/{task_id}", {"path.task_id": "$response.body#/id"})
    }
    # refusals make no job: only success answers link
    for item in document["paths"].values():
        for operation in item.values():
            assert all(status.startswith("2") for status, r in operation["responses"].items() if "links" in r)


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR  # the OpenAPI 3.1 meta-schema

    assert [str(e) for e in OPENAPI_31_VALIDATOR.iter_errors(document)] == []
    broken = copy.deepcopy(document)
    broken["paths"]["/model/v1/generation"]["post"]["responses"]["200"]["links"]["status_and_result"]["operationId"] = 3
    assert list(OPENAPI_31_VALIDATOR.iter_errors(broken)) != []  # the validator does look at links


def test_the_mock_serves_the_document(engine: Engine, document: dict[str, Any]) -> None:
    with TestClient(create_app(engine=engine), base_url="http://mock.test") as client:
        served = client.get("/__wan26__/openapi.json")
    assert served.status_code == 200 and served.json() == document


def _schema(engine: Engine) -> Any:
    schema = schemathesis.openapi.from_asgi("/__wan26__/openapi.json", create_app(engine=engine))

    @schema.auth(refresh_interval=None)
    class _MockKey:
        """Each provider's own scheme (the mock checks its form only)."""

        def get(self, case: Any, context: Any) -> str:
            return AUTH[case.operation.definition.raw["tags"][0]]

        def set(self, case: Any, data: str, context: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": data}

    return schema


def _run(engine: Engine, mode: GenerationMode, checks: list[Any]) -> dict[str, set[str]]:
    """Failure codes per operation, over every operation, with bounded, derandomized examples."""
    return failure_codes(_schema(engine), mode, checks, MAX_EXAMPLES)


def test_schemathesis_valid_requests_get_conforming_answers(engine: Engine) -> None:
    failures = _run(
        engine, GenerationMode.POSITIVE, [not_a_server_error, response_schema_conformance, response_headers_conformance]
    )
    assert failures == {}


def test_schemathesis_invalid_requests_are_refused_without_server_errors(engine: Engine) -> None:
    failures = _run(engine, GenerationMode.NEGATIVE, [not_a_server_error, negative_data_rejection])
    unexpected = {op: codes for op, codes in failures.items() if op not in MOCK_ACCEPTS_INVALID or codes != {"ST201"}}
    assert unexpected == {}, "ST201: a schema-violating request was accepted; ST1xx: a server error"
