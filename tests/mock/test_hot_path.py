"""The status-poll hot path: answers reused while a job's phase holds, MockRequest from the ASGI scope, raw ASGI sends.

Each shortcut is checked against what it replaces: a fresh render from a fresh snapshot, Starlette's ``Request`` and
Starlette's ``Response``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from test_engine import AUTH as TOY_AUTH
from test_engine import BODY as TOY_BODY
from test_engine import ToyDialect

import wan26_aimlapi
import wan26_dashscope
import wan26_fal
import wan26_vtrix
from wan26_mock import create_app
from wan26_mock.app import MockEndpoint
from wan26_mock.encoding import EncodedResponse, encoded, id_spots, reissued, to_wire
from wan26_mock.engine import Engine
from wan26core import Contract, ContractProvider, GenerationRequest, Provider, Reference, Registry, builtin_contract, hookimpl
from wan26core._dialect import MockRequest, MockResponse, Video

FAL_SUBMIT = "/wan/v2.6/reference-to-video/flash"
FAL_BODY = {"prompt": "Character1 dances in the rain.", "video_urls": ["https://example.com/dancer.mp4"]}
DS_SUBMIT = "/api/v1/services/aigc/video-generation/video-synthesis"
DS_BODY = {
    "model": "wan2.6-r2v",
    "input": {"prompt": "character1 dances in the rain", "reference_urls": ["https://example.com/dancer.mp4"]},
    "parameters": {"size": "1280*720", "duration": 5},
}
BASE = "http://mock.test"


def ask(engine: Engine, method: str, path: str, headers: Mapping[str, str], body: Any = None, **query: str) -> MockResponse:
    raw = json.dumps(body).encode() if body is not None else b""
    request = MockRequest(method, path, query, {k.lower(): v for k, v in headers.items()}, raw, BASE)
    return asyncio.run(engine.handle(request))


def fresh(engine: Engine, action: str, path: str, params: dict[str, str], headers: Mapping[str, str], **query: str) -> Any:
    """The answer rendered from scratch, as the engine did before it reused answers."""
    job = engine.jobs.jobs[next(iter(params.values()))]
    dialect = next(d for d in engine.dialects.values() if job.provider in engine.contracts[d.provider])
    contract = engine.contracts[dialect.provider][job.provider]
    now = engine.clock.now()
    request = MockRequest("GET", path, query, dict(headers), b"", BASE, params, now=now)
    snapshot = engine.jobs.snapshot(job, now, contract)
    answer = dialect.result(request, snapshot) if action == "result" else dialect.status(request, snapshot)
    return answer.status, answer.body, dict(answer.headers)


def seen(answer: MockResponse) -> Any:
    return answer.status, answer.body, dict(answer.headers)


def anonymous(seen: Any) -> Any:
    """An answer as :func:`seen` gives it, without DashScope's per-request ``request_id``."""
    status, body, headers = seen
    return status, {**body, "request_id": None}, headers


def registry(*plugins: Any) -> Registry:
    return Registry(plugins=list(plugins), entry_points=False)


@pytest.mark.parametrize("provider", ["fal", "dashscope"])
def test_polls_reuse_the_rendered_answer_exactly_while_the_job_does_not_change(provider: str) -> None:
    engine = Engine(registry(wan26_fal, wan26_dashscope), seed=3, frozen_clock=True)
    if provider == "fal":
        auth = {"authorization": "Key k"}
        job_id = ask(engine, "POST", FAL_SUBMIT, auth, FAL_BODY).body["request_id"]
        path, params, query = f"/wan/v2.6/requests/{job_id}/status", {"request_id": job_id}, {"logs": "1"}
    else:
        auth = {"authorization": "Bearer k"}
        job_id = ask(engine, "POST", DS_SUBMIT, {**auth, "x-dashscope-async": "enable"}, DS_BODY).body["output"]["task_id"]
        path, params, query = f"/api/v1/tasks/{job_id}", {"task_id": job_id}, {}
    job = engine.jobs.jobs[job_id]
    answers: list[MockResponse] = []
    states = set()
    while True:
        first, second = ask(engine, "GET", path, auth, **query), ask(engine, "GET", path, auth, **query)
        assert isinstance(first, EncodedResponse) and isinstance(second, EncodedResponse)
        if provider == "fal":
            assert seen(first) == seen(second) == fresh(engine, "status", path, params, auth, **query)
            assert second is first  # the second poll of an unchanged job is the first answer, bytes included
        else:  # the same answer but for DashScope's request_id: each request's own, put into the reused bytes
            ids = first.body["request_id"], second.body["request_id"]
            assert ids[0] != ids[1]
            assert second.wire.body == first.wire.body.replace(ids[0].encode(), ids[1].encode())
            assert anonymous(seen(first)) == anonymous(seen(second)) == anonymous(fresh(engine, "status", path, params, auth))
        assert json.loads(first.wire.body) == first.body and json.loads(second.wire.body) == second.body
        answers.append(job.answer[2])  # the answer the engine keeps and reuses (the one rendered last)
        states.add(job.state_at(engine.clock.now()))
        if job.state_at(engine.clock.now()) == "succeeded":
            break
        engine.clock.advance(0.004)
    assert states == {"queued", "running", "succeeded"}
    renders = [a for a, before in zip(answers, [None, *answers], strict=False) if a is not before]
    bodies = {json.dumps(anonymous(seen(a)), sort_keys=True) for a in answers}
    # the body does change: fal's with the queue position and the logs, DashScope's (no progress field) with the state
    assert len(bodies) > job.positions + 10 if provider == "fal" else len(bodies) == 3
    assert len(renders) < len(answers)  # and is reused across clock steps while the job's phase holds


def test_a_cancel_and_a_clock_jump_end_the_reuse() -> None:
    engine = Engine(registry(wan26_fal), seed=3, frozen_clock=True)
    auth = {"authorization": "Key k"}
    ids = [ask(engine, "POST", FAL_SUBMIT, auth, FAL_BODY).body["request_id"] for _ in range(2)]
    queued = [ask(engine, "GET", f"/wan/v2.6/requests/{i}/status", auth) for i in ids]
    assert [a.body["status"] for a in queued] == ["IN_QUEUE", "IN_QUEUE"]
    assert ask(engine, "PUT", f"/wan/v2.6/requests/{ids[0]}/cancel", auth).status == 202
    cancelled = ask(engine, "GET", f"/wan/v2.6/requests/{ids[0]}/status", auth)
    assert cancelled.body["status"] == "COMPLETED" and cancelled.body["error_type"] == "client_cancelled"
    engine.clock.advance(0.3)  # past the queue
    running = ask(engine, "GET", f"/wan/v2.6/requests/{ids[1]}/status", auth)
    assert running.body["status"] == "IN_PROGRESS" and running is not queued[1]


class CountingToy(ToyDialect):
    """The toy dialect, counting its renders; it reports the clock, so it must not opt in."""

    def __init__(self, cacheable: object) -> None:
        self.renders = 0
        if cacheable is not None:
            self.cacheable = cacheable

    def status(self, request: MockRequest, job: Any) -> MockResponse:
        self.renders += 1
        answer = super().status(request, job)
        return MockResponse(answer.status, {**answer.body, "now": request.now})

    result = status


def toy_engine(dialect: CountingToy) -> Engine:
    class Plugin:
        @hookimpl
        def wan26_register_providers(self, register: Callable[[Provider], None]) -> None:
            data = json.loads(json.dumps(builtin_contract("vtrix/r2v").data))
            data["id"], data["provider"] = "toy/r2v", "toy"
            register(ContractProvider(Contract.from_data(data), dialect=dialect))

    return Engine(registry(Plugin()), seed=1, frozen_clock=True)


@pytest.mark.parametrize(("cacheable", "renders"), [(None, 4), (False, 4), ("yes", 4), (True, 1)])
def test_only_a_dialect_that_says_cacheable_true_gets_its_answers_reused(cacheable: object, renders: int) -> None:
    dialect = CountingToy(cacheable)
    engine = toy_engine(dialect)
    job_id = ask(engine, "POST", "/toy/tasks", TOY_AUTH, TOY_BODY).body["id"]
    bodies = [ask(engine, "GET", f"/toy/tasks/{job_id}", TOY_AUTH).body for _ in range(4)]
    assert dialect.renders == renders and all(b == bodies[0] for b in bodies)
    assert ask(engine, "GET", f"/toy/tasks/{job_id}", TOY_AUTH, x="1").body == bodies[0]  # another query: rendered
    assert dialect.renders == renders + 1


def test_the_journal_shows_a_reused_answer_like_any_other() -> None:
    engine = Engine(registry(wan26_fal), seed=3, frozen_clock=True)
    auth = {"authorization": "Key secret-key"}
    job_id = ask(engine, "POST", FAL_SUBMIT, auth, FAL_BODY).body["request_id"]
    answers = [ask(engine, "GET", f"/wan/v2.6/requests/{job_id}/status", auth, logs="1") for _ in range(2)]
    entries = engine.journal.entries(action="status")
    assert [e["response"] for e in entries] == [answers[0].body] * 2
    assert [e["headers"]["authorization"] for e in entries] == ["Key REDACTED"] * 2


def _video() -> Video:
    return Video("http://mock.test/__wan26__/files/x.mp4", 1280, 720, 24.0, 5.0, 120, 1234, True, file_name="x.mp4")


@pytest.mark.parametrize("module", [wan26_fal, wan26_dashscope, wan26_vtrix, wan26_aimlapi])
def test_a_dialect_that_says_cacheable_answers_the_same_whatever_the_headers_and_the_clock(module: Any) -> None:
    """The promise behind ``cacheable = True``, checked in every state a job passes through."""
    dialect = module.DIALECT
    assert dialect.cacheable is True
    engine = Engine(registry(module), seed=5, frozen_clock=True)
    provider_id, contract = next(iter(engine.contracts[dialect.provider].items()))
    store = engine.jobs
    canonical = GenerationRequest(prompt="@a waves", references=[Reference("a", "https://m.example/a.mp4", "video")])
    job = store.create(provider_id, contract, canonical, {"prompt": "character1 waves"}, 1000.0)
    job.video = _video()
    snapshots = [store.snapshot(job, 1000.0 + t, contract) for t in (0.0, 0.1, 0.3, 0.6, 2.0)]
    failed = store.create(provider_id, contract, canonical, {}, 1000.0)
    failed.outcome = "failed"
    cancelled = store.create(provider_id, contract, canonical, {}, 1000.0)
    cancelled.cancelled_at = 1000.1
    snapshots += [store.snapshot(failed, 1002.0, contract), store.snapshot(cancelled, 1002.0, contract)]
    assert {s.state for s in snapshots} == {"queued", "running", "succeeded", "failed", "cancelled"}
    for snapshot in snapshots:
        one = MockRequest("GET", "/p", {"q": "1"}, {"authorization": "Bearer a"}, b"", BASE, {"task_id": snapshot.id}, now=1.0)
        other = replace(one, headers={"authorization": "Key b", "x-other": "1"}, now=99999.0)
        for render in (dialect.status, dialect.result):
            assert seen(render(one, snapshot)) == seen(render(other, snapshot))


def test_equal_phases_give_equal_snapshots() -> None:
    engine = Engine(registry(wan26_fal), seed=11, frozen_clock=True)
    auth = {"authorization": "Key k"}
    job = engine.jobs.jobs[ask(engine, "POST", FAL_SUBMIT, auth, FAL_BODY).body["request_id"]]
    contract = engine.contracts["fal"][job.provider]
    by_phase: dict[Any, Any] = {}
    for step in range(0, 1300):
        now = job.created_at + step * 0.00077
        snapshot = engine.jobs.snapshot(job, now, contract)
        assert by_phase.setdefault(job.phase(now), snapshot) == snapshot
    assert len(by_phase) > 100  # phases do change: positions, then every 0.1 % of progress


# --- the ASGI endpoint ----------------------------------------------------------------------------------------------


class Recorder:
    """Stands in for the engine: keeps the request, answers ``answer``."""

    def __init__(self, answer: MockResponse) -> None:
        self.answer = answer
        self.requests: list[MockRequest] = []

    async def handle_parts(self, *parts: Any) -> MockResponse:
        self.requests.append(MockRequest(*parts))
        return self.answer


def _scope(path: str = "/a/b", query: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None, **extra: Any) -> Any:
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": headers if headers is not None else [(b"host", b"127.0.0.1:8000")],
        "server": ("127.0.0.1", 8000),
    }
    scope.update(extra)
    return scope


SCOPES = [
    _scope(),
    _scope(query=b"logs=1&logs=0&blank=&sp=a%20b+c&%E2%9C%93=%E2%9C%93&flag"),
    _scope(path="/odd?path#x\\y"),
    _scope(path="/prefix/a", root_path="/prefix"),
    _scope(headers=[(b"authorization", b"Key x"), (b"x-dup", b"1"), (b"x-dup", b"2"), (b"x-latin", "caf\xe9".encode("latin-1"))]),
    _scope(headers=[(b"host", b"first.test"), (b"host", b"second.test")]),
    _scope(headers=[(b"host", b"[::1]:9000")], scheme="https"),
    _scope(headers=[], scheme="https", server=("::1", 443)),
    _scope(headers=[], server=["10.0.0.1", 8080]),
    _scope(headers=[(b"host", b"bad host!")]),
    _scope(method="POST", headers=[(b"host", b"h"), (b"content-length", b"6")]),
    _scope(method="POST", headers=[(b"host", b"h"), (b"transfer-encoding", b"chunked")]),
]


@pytest.mark.parametrize("scope", SCOPES)
def test_the_request_built_from_the_scope_is_what_starlettes_request_said(scope: Any) -> None:
    chunks = [{"type": "http.request", "body": b"abc", "more_body": True}, {"type": "http.request", "body": b"def"}]

    def receiver() -> Any:
        queue = list(chunks)

        async def receive() -> Any:
            return queue.pop(0)

        return receive

    async def run() -> tuple[MockRequest, tuple[Any, ...]]:
        async def send(message: Any) -> None:
            pass

        recorder = Recorder(MockResponse(204))
        await MockEndpoint(recorder)(dict(scope), receiver(), send)  # type: ignore[arg-type]
        old = Request(dict(scope), receiver())
        body = b"".join([c async for c in old.stream()]) if scope["method"] == "POST" else b""
        expected = (
            old.method,
            old.url.path,
            dict(old.query_params),
            {k.lower(): v for k, v in old.headers.items()},
            body,
            f"{old.url.scheme}://{old.url.netloc}",
        )
        return recorder.requests[0], expected

    request, expected = asyncio.run(run())
    assert (request.method, request.path, request.query, request.headers, request.body, request.base_url) == expected


def test_a_get_without_a_body_is_not_read() -> None:
    async def receive() -> Any:
        raise AssertionError("the body of a request without one was read")

    async def send(message: Any) -> None:
        pass

    recorder = Recorder(MockResponse(200, {}))
    asyncio.run(MockEndpoint(recorder)(_scope(), receive, send))  # type: ignore[arg-type]
    assert recorder.requests[0].body == b""


def _old_response(response: MockResponse) -> Response:
    """How the app answered before: a Starlette ``Response`` built from the MockResponse."""
    headers = dict(response.headers)
    body: Any = response.body
    if isinstance(body, bytes):
        content = body
    elif isinstance(body, str):
        content = body.encode()
        headers.setdefault("content-type", "text/plain; charset=utf-8")
    elif body is None and response.status in (204, 304):
        content = b""
    else:
        content = json.dumps(body, separators=(",", ":")).encode()
        headers.setdefault("content-type", "application/json")
    return Response(content, status_code=response.status, headers=headers)


@pytest.mark.parametrize(
    "response",
    [
        MockResponse(202, {"status": "IN_QUEUE", "n": 1.5, "é": ["ü"]}, {"x-fal-request-id": "abc"}),
        MockResponse(422, {"detail": []}, {"X-Fal-Error-Type": "bad"}),
        MockResponse(200, "plain words"),
        MockResponse(200, b"\x00\x01", {"content-type": "video/mp4"}),
        MockResponse(200, b"", {"content-type": "video/mp4", "content-length": "4096"}),
        MockResponse(204),
        MockResponse(304, None, {"etag": "x"}),
        MockResponse(200, None),
        MockResponse(101, {"x": 1}),
    ],
)
def test_the_wire_form_is_what_starlettes_response_sent(response: MockResponse) -> None:
    old = _old_response(response)
    wire = to_wire(response)
    assert (wire.status, list(wire.headers), wire.body) == (old.status_code, old.raw_headers, old.body)


def test_user_middleware_still_sees_every_request() -> None:
    engine = Engine(registry(wan26_fal), seed=1, frozen_clock=True)
    app = create_app(engine=engine)
    seen_paths: list[str] = []

    class Spy:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            seen_paths.append(scope["path"])
            await self.app(scope, receive, send)

    app.add_middleware(Spy)

    async def run() -> int:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
            return (await client.get("/__wan26__/health")).status_code

    assert asyncio.run(run()) == 200 and seen_paths == ["/__wan26__/health"]


def test_a_reused_answer_gets_the_new_requests_id_wherever_the_old_one_was() -> None:
    old, new = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
    body = {"request_id": old, "output": {"links": ["x", f"https://h/{old}/log"], "task_id": "t"}, "n": 1}
    answer = encoded(MockResponse(200, body, {"x-request-id": old, "x-other": "y"}))
    spots = id_spots(answer, old)
    assert spots is not None and spots.in_headers and len(spots.paths) == 2
    again = reissued(answer, spots, new)
    assert again.body == {"request_id": new, "output": {"links": ["x", f"https://h/{new}/log"], "task_id": "t"}, "n": 1}
    assert again.headers["x-request-id"] == new and again.wire == to_wire(MockResponse(200, again.body, again.headers))
    assert answer.body["request_id"] == old and answer.body["output"]["links"][1].endswith(f"{old}/log")  # untouched
    assert again.body["output"]["task_id"] is answer.body["output"]["task_id"]
    assert reissued(answer, spots, old) is answer and id_spots(answer, new) is None
