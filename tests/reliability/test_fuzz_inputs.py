"""Bad input, fuzzed: every validator, renderer and parser takes arbitrary JSON and raises only wan26's own errors.

Hypothesis draws arbitrary JSON and *mutations* of the contracts' recorded examples (a value replaced by arbitrary
JSON, a key deleted or added — near-valid input reaches the deep paths) for:

- request parsing and validation: ``GenerationRequest.from_dict`` and a ``GenerationRequest`` whose fields hold
  arbitrary values, through ``validate`` and ``render`` (only :class:`ValidationError`);
- the mock's reading of wire bodies: ``check_wire`` (violations, never an exception) and ``parse_wire``;
- the client's reading of answers: every parser of every provider's protocol on arbitrary bodies and statuses (only
  :class:`Wan26Error`; ``error_from`` returns one);
- the mock's request handling, transport-free (``Engine.handle_parts``): arbitrary bodies, queries, path parameters and
  headers on every provider route are never answered 500;
- webhook verification (only :class:`WebhookVerificationError`).

Deeply nested JSON (past Python's recursion limit) is tried explicitly everywhere. Bounded: the Hypothesis profile's
examples; ``WAN26_SUITE=full``: 1,000 per test.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from relykit import FULL

from support import CONTRACTS, PROVIDERS, builtin_registry
from wan26_mock import SCENARIO_HEADER
from wan26_mock.engine import Engine
from wan26core import GenerationRequest, Reference, ValidationError, Wan26Error, WebhookVerificationError, verify_webhook
from wan26core._errors import Violation
from wan26core._protocol import ContractClientProtocol, HttpReply, JobRef
from wan26core._rules.validation import validate
from wan26core._rules.wire import check_wire, parse_wire

ALL = sorted(CONTRACTS)
#: every test draws its endpoint (or route) too: one budget of examples spread over all of them
MORE = settings(max_examples=3000 if FULL else 80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PIDS = st.sampled_from(sorted(CONTRACTS))
DEPTHS = (50, 500, 990, 1000, 3000, 100_000)

# --- strategies ------------------------------------------------------------------------------------
leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**20)  # past int64
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["", "https://example.com/a.mp4", "data:video/mp4;base64,AAAA", "../../etc/passwd", "\x00", "𝒲"])
)
json_values = st.recursive(
    leaves, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=4), max_leaves=20
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


def _mutate(value: Any, path: tuple[Any, ...], op: str, new: Any, key: str) -> Any:
    if not path:
        return new if op != "insert" or not isinstance(value, dict) else {**value, key: new}
    parent = value
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if op == "delete":
        del parent[last]
    elif op == "insert" and isinstance(parent[last], dict):
        parent[last][key] = new
    elif op == "insert" and isinstance(parent[last], list):
        parent[last].append(new)
    else:
        parent[last] = new
    return value


@st.composite
def mutations(draw: st.DrawFn, seeds: list[Any]) -> Any:
    """A recorded example with 1-3 changes: a value replaced, a key or item deleted, a key or item added."""
    value = copy.deepcopy(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(value)))
        op = draw(st.sampled_from(["replace", "delete", "insert"] if path else ["replace", "insert"]))
        value = _mutate(value, path, op, draw(json_values), draw(st.text(max_size=8)))
    return value


def examples(pid: str, *kinds: str) -> list[Any]:
    return [e["body"] for e in CONTRACTS[pid].data["examples"] if e["kind"] in kinds and e.get("body") is not None]


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def bodies(pid: str, *kinds: str) -> st.SearchStrategy[bytes]:
    """Raw bodies: JSON, mutated examples, arbitrary bytes and text, deep nesting."""
    seeds = examples(pid, *kinds)
    values = json_values | mutations(seeds) if seeds else json_values
    return (
        values.map(lambda v: json.dumps(v).encode())
        | st.binary(max_size=64)
        | st.text(max_size=40).map(str.encode)
        | st.sampled_from(DEPTHS).map(lambda d: nested(d).encode())
    )


# --- request parsing, validation, rendering ----------------------------------------------------------
def only_validation_errors(pid: str, make: Any) -> None:
    try:
        request = make()
        assert validate(request, CONTRACTS[pid]) is not None
        PROVIDERS[pid].render(request)
    except ValidationError as exc:
        assert exc.violations and all(isinstance(v, Violation) for v in exc.violations)
        json.dumps([v.as_dict() for v in exc.violations])


@MORE
@given(pid=PIDS, payload=st.data())
def test_requests_from_any_json_raise_only_validation_errors(pid: str, payload: st.DataObject) -> None:
    seeds = [e["canonical"] for e in CONTRACTS[pid].data["examples"] if e.get("canonical")]
    data = payload.draw(json_values | mutations(seeds) if seeds else json_values)
    only_validation_errors(pid, lambda: GenerationRequest.from_dict(data))


@MORE
@given(
    pid=PIDS, fields=st.dictionaries(st.sampled_from(sorted(GenerationRequest.__dataclass_fields__)), json_values), refs=st.data()
)
def test_requests_holding_any_values_raise_only_validation_errors(pid: str, fields: dict[str, Any], refs: st.DataObject) -> None:
    fields.setdefault("prompt", "a cat")
    item = st.builds(Reference, json_values, json_values, json_values) | json_values
    fields["references"] = refs.draw(st.lists(item, max_size=6))
    only_validation_errors(pid, lambda: GenerationRequest(**fields))


@MORE
@given(pid=PIDS, data=st.data())
def test_wire_bodies_of_any_shape_give_violations_not_exceptions(pid: str, data: st.DataObject) -> None:
    contract = CONTRACTS[pid]
    body = data.draw(json_values | mutations(examples(pid, "request")))
    canonical, violations = check_wire(body, contract)
    assert isinstance(violations, list) and all(isinstance(v, Violation) for v in violations)
    assert canonical is not None or violations
    json.dumps([v.as_dict() for v in violations])
    try:
        parse_wire(body, contract)
    except ValidationError as exc:
        assert exc.violations


# --- the client's reading of answers ----------------------------------------------------------------
def protocol(pid: str) -> Any:
    plugin = PROVIDERS[pid]
    return getattr(plugin, "protocol", None) or ContractClientProtocol(plugin.contract)


STATUSES = st.sampled_from([200, 201, 202, 204, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 504]) | st.integers(100, 599)
RETRY_AFTER = st.none() | st.sampled_from(["1", "-3", "1e309", "nan", "Wed, 21 Oct 2015 07:28:00 GMT"]) | st.text(max_size=12)


@MORE
@given(pid=PIDS, data=st.data(), status=STATUSES, retry_after=RETRY_AFTER)
def test_client_protocols_read_any_answer_raising_only_wan26_errors(
    pid: str, data: st.DataObject, status: int, retry_after: str | None
) -> None:
    proto = protocol(pid)
    kinds = ("submit_response", "status_response", "result_response", "cancel_response", "error_response", "stream_event")
    body = data.draw(bodies(pid, *kinds))
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    reply = HttpReply(status, headers, body, "https://provider.example/x")
    ref = JobRef(pid, "job-1", {})
    assert reply.retry_after is None or reply.retry_after >= 0
    parsers: list[Callable[[], object]] = [
        lambda: proto.parse_submitted(reply),
        lambda: proto.parse_status(reply, ref),
        lambda: proto.parse_result(reply, ref),
        lambda: proto.parse_cancel(reply, ref),
        lambda: proto.parse_event(body.decode("utf-8", "replace"), ref),
    ]
    for parse in parsers:
        try:
            parse()
        except Wan26Error as exc:
            str(exc)
    for generation in (False, True):
        assert isinstance(proto.error_from(reply, job_id="job-1", generation=generation), Wan26Error)


@MORE
@given(
    headers=st.dictionaries(
        st.sampled_from(
            ["x-fal-webhook-request-id", "x-fal-webhook-user-id", "x-fal-webhook-timestamp", "x-fal-webhook-signature"]
        ),
        st.text(max_size=40),
    ),
    body=st.binary(max_size=64) | json_values.map(lambda v: json.dumps(v).encode()),
    jwks=json_values | st.just({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}]}),
)
def test_webhook_verification_raises_only_its_own_error(headers: dict[str, str], body: bytes, jwks: Any) -> None:
    with contextlib.suppress(WebhookVerificationError):  # anything else fails the test
        verify_webhook(headers, body, jwks if isinstance(jwks, dict) else {"keys": jwks})


# --- the mock's request handling -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def engine() -> Iterator[tuple[Engine, asyncio.AbstractEventLoop]]:
    loop = asyncio.new_event_loop()
    try:
        yield Engine(builtin_registry(), seed=5, frozen_clock=True), loop
    finally:
        loop.close()


def _routes() -> list[tuple[str, str, str, str]]:
    engine = Engine(builtin_registry(), seed=5, frozen_clock=True)
    return sorted({(r.dialect.provider, r.action, r.method, r.pattern.pattern) for r in engine.routes})


AUTH = {"fal": "Key canary-secret-123", "aimlapi": "Bearer x", "vtrix": "Bearer x", "dashscope": "Bearer x"}
FILLERS = st.text(st.characters(blacklist_characters="/?#"), min_size=1, max_size=20)


@MORE
@given(route=st.sampled_from(_routes()), data=st.data())
def test_the_mock_answers_any_request_without_a_server_error(
    engine: tuple[Engine, asyncio.AbstractEventLoop], route: tuple[str, str, str, str], data: st.DataObject
) -> None:
    mock, loop = engine
    provider, _, method, pattern = route
    pid = next(p for p in ALL if p.startswith(provider + "/"))
    path = _fill(pattern, data.draw(FILLERS))
    headers = data.draw(
        st.dictionaries(st.sampled_from(["content-type", "x-dashscope-async", "accept", "x-other"]), st.text(max_size=20))
    )
    headers["authorization"] = data.draw(st.just(AUTH[provider]) | st.text(max_size=20))
    headers.pop(SCENARIO_HEADER, None)
    query = data.draw(st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=3))
    body = data.draw(bodies(pid, "request")) if method != "GET" else b""
    answer = loop.run_until_complete(mock.handle_parts(method, path, query, headers, body, "http://mock.test"))
    assert answer.status < 500 and "x-wan26-mock-bug" not in answer.headers, (answer.status, answer.body)
    aclose = getattr(answer.body, "aclose", None)  # a status stream: not read here
    if aclose is not None:
        loop.run_until_complete(aclose())


def _fill(pattern: str, text: str) -> str:
    """A path matching the route's pattern, its parameters replaced by ``text``."""
    import re

    return re.sub(r"\(\?P<[a-z_]+>\[\^/\]\+\)", lambda _: text, pattern).replace("\\", "")


# --- deep nesting, explicitly --------------------------------------------------------------------------
@pytest.mark.parametrize("depth", DEPTHS)
def test_deeply_nested_json_is_refused_plainly_everywhere(engine: tuple[Engine, asyncio.AbstractEventLoop], depth: int) -> None:
    mock, loop = engine
    text = nested(depth)
    for pid in ALL:
        proto, ref = protocol(pid), JobRef(pid, "job-1", {})
        for status in (200, 400, 500):
            reply = HttpReply(status, {}, text.encode())
            with pytest.raises(Wan26Error):
                proto.parse_status(reply, ref)
            assert isinstance(proto.error_from(reply), Wan26Error)
        with pytest.raises(Wan26Error):
            proto.parse_event(text, ref)
    for route in mock.routes:
        if route.action != "submit":
            continue
        provider = route.dialect.provider
        for body in (text, f'{{"prompt": {text}, "model": {text}, "input": {text}}}'):
            answer = loop.run_until_complete(
                mock.handle_parts(
                    "POST",
                    _fill(route.pattern.pattern, "x"),
                    {},
                    {"authorization": AUTH[provider], "x-dashscope-async": "enable"},
                    body.encode(),
                    "http://mock.test",
                )
            )
            assert 400 <= answer.status < 500, (provider, depth, answer.status, answer.body)
    assert isinstance(mock.journal.entries(), list)  # the admin API can still show what came in
