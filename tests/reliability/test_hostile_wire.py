"""Hostile and sloppy wire values on every provider's submit route, then polls of every job that was accepted.

The mock must refuse each bad value at submit with the provider's own answer (fal: pydantic's 422 items; DashScope:
``InvalidParameter`` naming the wire parameter; AI/ML API: ``Body validation error`` naming the wire field; Vtrix: its
``{message}`` 400 or a task-level code) and never let it reach a job: an accepted body is one the provider's schema
and the contract's rules accept, and no later status or result poll of it answers 5xx. A reference that is a path on
the mock's host is refused like any non-URL, the same whether or not the file exists, and never opened.

Bounded: the Hypothesis profile's examples; ``WAN26_SUITE=full``: 2,000.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from relykit import FULL, job_request

from support import CONTRACTS, PROVIDERS, builtin_registry
from wan26_mock.engine import Engine
from wan26core import GenerationRequest
from wan26core._dialect import MockResponse
from wan26core._rules.references import get_path
from wan26core._rules.validation import validate

ALL = sorted(CONTRACTS)
HOSTILE = settings(max_examples=2000 if FULL else 60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
AUTH = {"fal": "Key mock-key", "aimlapi": "Bearer mock-key", "vtrix": "Bearer mock-key", "dashscope": "Bearer mock-key"}
BASE = "http://mock.test"
#: naming and binding rules of wan26's own, which no provider applies
WAN26_ONLY = ("references.name", "references.unknown", "references.unused", "prompt.literal_token", "source.")

#: the values the outside review found accepted (then 500 on every poll), and their relatives
NAMED = ["abc", "5.0", [5], {"a": 1}, 5.5, True, 12.0, -1, 0, 99, 100_000, 10**30, "", None, "/etc/passwd"]
hostile_values = (
    st.sampled_from(NAMED)
    | st.floats()  # NaN and infinities included
    | st.integers()
    | st.text(max_size=12)
    | st.lists(st.integers() | st.text(max_size=4), max_size=3)
    | st.dictionaries(st.text(max_size=4), st.integers(), max_size=2)
)


@pytest.fixture(scope="module")
def mock() -> Iterator[tuple[Engine, asyncio.AbstractEventLoop]]:
    loop = asyncio.new_event_loop()
    with tempfile.TemporaryDirectory(prefix="wan26-hostile-wire-") as outputs:
        try:
            yield Engine(builtin_registry(), seed=11, frozen_clock=True, output_dir=Path(outputs)), loop
        finally:
            loop.close()


def example(pid: str) -> dict[str, Any]:
    """The contract's first documented request body that wan26 does not consider broken."""
    bodies = [e["body"] for e in CONTRACTS[pid].data["examples"] if e["kind"] == "request" and "breaks" not in e]
    if bodies:
        return copy.deepcopy(bodies[0])
    if CONTRACTS[pid].task == "i2v":
        request = GenerationRequest("the cat waves", image="https://example.com/cat.png", duration=5)
    else:
        request = GenerationRequest.from_dict(job_request(1))
    return dict(PROVIDERS[pid].render(request).body)


def field_paths(schema: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every property of the request schema, nested objects included (``model`` is how a submit is routed)."""
    out: list[tuple[str, ...]] = []
    for key, prop in schema.get("properties", {}).items():
        if not prefix and key == "model":
            continue
        out.append((*prefix, key))
        if prop.get("type") == "object":
            out += field_paths(prop, (*prefix, key))
    return out


def put(body: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    node = body
    for part in path[:-1]:
        child = node.get(part)
        node[part] = child if isinstance(child, dict) else {}
        node = node[part]
    node[path[-1]] = value
    return body


def call(mock: tuple[Engine, asyncio.AbstractEventLoop], pid: str, method: str, route: str, body: Any = None) -> MockResponse:
    engine, loop = mock
    path, _, query = route.partition("?")
    headers = {
        "content-type": "application/json",
        "x-dashscope-async": "enable",
        "authorization": AUTH[pid.split("/")[0]],
    }
    raw = b"" if body is None else json.dumps(body).encode()
    params = dict(p.split("=", 1) for p in query.split("&")) if query else {}
    return loop.run_until_complete(engine.handle_parts(method, path, params, headers, raw, BASE))


def submit(mock: tuple[Engine, asyncio.AbstractEventLoop], pid: str, body: Any) -> MockResponse:
    route = CONTRACTS[pid].transport["routes"]["submit"]
    return call(mock, pid, route["method"], route["path"], body)


def poll_everything(mock: tuple[Engine, asyncio.AbstractEventLoop], pid: str, job_id: str) -> None:
    """Status and result while queued, then once the job has had every second it could need: never a 5xx."""
    engine, _ = mock
    contract = CONTRACTS[pid]
    for _ in range(2):
        for action in ("status", "result"):
            route = contract.transport["routes"][action]
            path = route["path"]
            for name in ("request_id", "task_id", "generation_id"):
                path = path.replace("{" + name + "}", job_id)
            answer = call(mock, pid, route["method"], path)
            assert answer.status < 500, (pid, action, answer.status, answer.body)
            assert "x-wan26-mock-bug" not in answer.headers
        engine.clock.advance(3600.0)


def accepted_job(mock: tuple[Engine, asyncio.AbstractEventLoop], before: set[str]) -> str | None:
    new = set(mock[0].jobs.jobs) - before
    assert len(new) <= 1
    return next(iter(new), None)


def assert_acceptable(pid: str, body: Any) -> None:
    """An accepted body is one the provider's schema check (limits included) and the contract's rules accept."""
    from wan26core._rules.wire_schema import read_wire

    contract = CONTRACTS[pid]
    coerced, problems = read_wire(body, contract, shape_only=False)
    assert problems == [], (pid, body, problems)
    from wan26core._rules.wire import parse_wire

    found = [
        v
        for v in validate(parse_wire(coerced, contract), contract)
        if v.severity == "error" and not v.rule.startswith(WAN26_ONLY)
    ]
    assert found == [], (pid, body, found)


@HOSTILE
@given(pid=st.sampled_from(ALL), data=st.data())
def test_any_value_in_any_wire_field_is_refused_natively_or_is_valid_and_polls_cleanly(
    mock: tuple[Engine, asyncio.AbstractEventLoop], pid: str, data: st.DataObject
) -> None:
    contract = CONTRACTS[pid]
    body = example(pid)
    for _ in range(data.draw(st.integers(1, 2))):
        path = data.draw(st.sampled_from(field_paths(contract.request_schema)))
        body = put(body, path, data.draw(hostile_values))
    before = set(mock[0].jobs.jobs)
    answer = submit(mock, pid, body)
    assert answer.status < 500, (pid, body, answer.status, answer.body)
    json.dumps(answer.body, allow_nan=False)  # strict JSON: a NaN in the body is never echoed back as NaN
    job = accepted_job(mock, before)
    if job is None:
        return
    assert_acceptable(pid, body)
    poll_everything(mock, pid, job)


# --- the cases the outside review measured, one by one ------------------------------------------------
FAL = [pid for pid in ALL if pid.startswith("fal/")]


#: the other fields, the same on every fal endpoint
_FAL_ROWS = [
    ("resolution", [5], "enum"),
    ("seed", "abc", "int_parsing"),
    ("seed", 5.5, "int_from_float"),
    ("seed", -1, "greater_than_equal"),
    ("prompt", 5, "string_type"),
    ("enable_safety_checker", "maybe", "bool_parsing"),
]


#: fal's Wan 2.6 endpoints take the duration as an enum of strings ("5", "10"), 2.7 as an integer with bounds
FAL_ENUM_DURATION = [pid for pid in FAL if "enum" in CONTRACTS[pid].request_schema["properties"]["duration"]]
FAL_INT_DURATION = [pid for pid in FAL if pid not in FAL_ENUM_DURATION]


@pytest.mark.parametrize(
    ("pid", "field", "value", "kind"),
    [
        *[
            (pid, "duration", value, "enum")
            for pid in FAL_ENUM_DURATION
            for value in ("abc", "5.0", [5], {"a": 1}, 5.5, True, 12.0)
        ],
        *[
            (pid, "duration", value, kind)
            for pid in FAL_INT_DURATION
            for value, kind in (
                ("abc", "int_parsing"),
                ([5], "int_type"),
                ({"a": 1}, "int_type"),
                (5.5, "int_from_float"),
                (1, "greater_than_equal"),
                (16, "less_than_equal"),
            )
        ],
        *[(pid, *row) for pid in FAL for row in _FAL_ROWS],
    ],
)
def test_fal_refuses_wrong_values_at_submit_with_pydantic_items(
    mock: tuple[Engine, asyncio.AbstractEventLoop], pid: str, field: str, value: Any, kind: str
) -> None:
    before = set(mock[0].jobs.jobs)
    answer = submit(mock, pid, {**example(pid), field: value})
    assert answer.status == 422, answer.body
    assert accepted_job(mock, before) is None
    items = [d for d in answer.body["detail"] if d["loc"] == ["body", field]]
    assert [d["type"] for d in items] == [kind]
    assert items[0]["msg"] and items[0]["input"] == value


def test_fal_aspect_ratio_of_minus_one_is_refused_where_the_endpoint_has_one(
    mock: tuple[Engine, asyncio.AbstractEventLoop],
) -> None:
    for pid in FAL:
        if "aspect_ratio" not in CONTRACTS[pid].request_schema["properties"]:
            continue
        answer = submit(mock, pid, {**example(pid), "aspect_ratio": -1})
        assert answer.status == 422
        assert answer.body["detail"][0]["type"] == "enum"


def test_fal_takes_what_pydantic_coerces_and_ignores_unknown_fields(mock: tuple[Engine, asyncio.AbstractEventLoop]) -> None:
    before = set(mock[0].jobs.jobs)
    answer = submit(mock, "fal/r2v-flash", {**example("fal/r2v-flash"), "seed": "42", "enable_audio": "yes", "unknown": 1})
    assert answer.status == 200, answer.body
    job = accepted_job(mock, before)
    assert job is not None
    assert mock[0].jobs.jobs[job].request.seed == 42


@pytest.mark.parametrize("pid", [pid for pid in ALL if not pid.startswith("fal/")])
def test_an_integral_float_is_the_integer_where_the_wire_schema_says_integer(
    mock: tuple[Engine, asyncio.AbstractEventLoop], pid: str
) -> None:
    # JSON has one number type and JSON Schema's "integer" takes 42.0; the wire check passed it, then wan26's
    # canonical rules refused it as "seed must be int" (Schemathesis: a schema-valid request rejected)
    wire = tuple(str(CONTRACTS[pid].option("seed")["wire"]).split("."))
    before = set(mock[0].jobs.jobs)
    answer = submit(mock, pid, put(example(pid), wire, 42.0))
    job = accepted_job(mock, before)
    assert job is not None, answer.body
    assert mock[0].jobs.jobs[job].request.seed == 42 and type(mock[0].jobs.jobs[job].request.seed) is int


@pytest.mark.parametrize("duration", [-1, 0, 99, 100_000, "abc", 5.5, math.inf])
def test_vtrix_refuses_any_undocumented_duration(mock: tuple[Engine, asyncio.AbstractEventLoop], duration: Any) -> None:
    body = put(example("vtrix/r2v"), ("parameters", "duration"), duration)
    before = set(mock[0].jobs.jobs)
    answer = submit(mock, "vtrix/r2v", json.loads(json.dumps(body).replace("Infinity", "1e400")))
    assert answer.status == 400, answer.body
    assert "parameters.duration" in answer.body["message"]
    assert accepted_job(mock, before) is None


def test_dashscope_names_the_wire_parameter_in_its_generic_refusal(mock: tuple[Engine, asyncio.AbstractEventLoop]) -> None:
    body = put(example("dashscope/r2v"), ("parameters", "seed"), "abc")
    answer = submit(mock, "dashscope/r2v", body)
    assert answer.status == 400
    assert answer.body["code"] == "InvalidParameter"
    assert answer.body["message"] == (
        "Required parameter(parameters.seed) missing or invalid, please check the request parameters."
    )
    assert "xxx" not in answer.body["message"]


def test_aimlapi_names_wire_fields_not_wan26_fields(mock: tuple[Engine, asyncio.AbstractEventLoop]) -> None:
    body = {**example("aimlapi/r2v"), "video_urls": ["https://example.com/a.mp4"] * 4}
    answer = submit(mock, "aimlapi/r2v", body)
    assert answer.status == 400
    assert "'video_urls'" in answer.body["message"] and "references" not in answer.body["message"]
    answer = submit(mock, "aimlapi/r2v", {**example("aimlapi/r2v"), "seed": "x"})
    assert answer.body["message"] == "Body validation error\nExpected number, received string at 'seed'"


def reference_paths(pid: str) -> list[str]:
    contract = CONTRACTS[pid]
    refs = contract.references
    if refs is not None:
        return list(refs["wire"].values())
    return [contract.wire_fields["first_frame"]]


@pytest.mark.parametrize("pid", ALL)
def test_a_host_path_is_refused_the_same_whether_or_not_it_exists(
    mock: tuple[Engine, asyncio.AbstractEventLoop], pid: str, tmp_path: Path
) -> None:
    existing = tmp_path / "secret.mp4"
    existing.write_bytes(b"\0" * 1000)
    answers = []
    for source in (str(existing), str(tmp_path / "missing.mp4"), "file://" + str(existing)):
        body = example(pid)
        media = CONTRACTS[pid].media
        if media:  # Wan 2.7 on DashScope: the source is the url of the media array's first item
            get_path(body, media["wire"])[0]["url"] = source
        else:
            wire = reference_paths(pid)[0]
            current = get_path(body, wire)
            put(body, tuple(wire.split(".")), [source] if isinstance(current, list) else source)
        before = set(mock[0].jobs.jobs)
        answer = submit(mock, pid, body)
        assert 400 <= answer.status < 500 or answer.body.get("status") == "failed", (pid, answer.status, answer.body)
        assert accepted_job(mock, before) is None
        text = json.dumps(answer.body).replace(source, "SOURCE")
        for volatile in ("requestId", "request_id", "timestamp"):
            if isinstance(answer.body, dict) and volatile in answer.body:
                text = text.replace(str(answer.body[volatile]), volatile)
        answers.append((answer.status, text))
    assert len(set(answers)) == 1, answers  # no file-existence oracle
    assert "1000" not in answers[0][1]  # and no size
