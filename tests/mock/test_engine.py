"""The mock engine's shared machinery, through a minimal dialect: admin API, clock, faults, journal, files."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mockkit import CANARY, advance
from wan26_mock import SCENARIO_HEADER, create_app
from wan26_mock.jobs import JobStore
from wan26core import (
    Contract,
    ContractProvider,
    GenerationRequest,
    NativeError,
    Provider,
    Reference,
    Registry,
    Violation,
    builtin_contract,
    hookimpl,
)
from wan26core._dialect import (
    JobSnapshot,
    MockRequest,
    MockResponse,
    Route,
    StreamingDialect,
    WebhookDialect,
    credential,
    select_by_model,
)


class ToyDialect:
    """The smallest dialect: a task API with JSON snapshots, on the vtrix contract's limits."""

    provider = "toy"

    def routes(self) -> list[Route]:
        return [
            Route("POST", "/toy/tasks", "submit"),
            Route("GET", "/toy/tasks/{task_id}", "status"),
            Route("POST", "/toy/tasks/{task_id}/cancel", "cancel"),
        ]

    def authenticate(self, request: MockRequest) -> MockResponse | None:
        return None if credential(request, "Bearer") else MockResponse(401, {"error": "no key"})

    def select(self, request: MockRequest, contracts: Mapping[str, Contract]) -> str | MockResponse:
        return select_by_model(request, contracts) or MockResponse(400, {"error": "unknown model"})

    def invalid(self, request: MockRequest, contract: Contract, violations: list[Violation]) -> MockResponse:
        return MockResponse(400, {"errors": [v.native.code if v.native else v.rule for v in violations]})

    def submitted(self, request: MockRequest, job: JobSnapshot) -> MockResponse:
        return MockResponse(200, {"id": job.id, "state": job.state})

    def status(self, request: MockRequest, job: JobSnapshot) -> MockResponse:
        return MockResponse(
            200,
            {
                "id": job.id,
                "state": job.state,
                "position": job.queue_position,
                "video": job.video.url if job.video else None,
                "error": job.error.code if job.error else None,
            },
        )

    result = status

    def cancel(self, request: MockRequest, job: JobSnapshot, accepted: bool) -> MockResponse:
        return MockResponse(200 if accepted else 409, {"state": job.state})

    def not_found(self, request: MockRequest, job_id: str) -> MockResponse:
        return MockResponse(404, {"error": f"no task {job_id}"})

    def error(self, request: MockRequest, native: NativeError) -> MockResponse:
        return MockResponse(native.http_status or 500, {"error": native.code})

    def job_id(self, request: MockRequest) -> str | None:
        return request.params.get("task_id")


class ToyPlugin:
    @hookimpl
    def wan26_register_providers(self, register: Callable[[Provider], None]) -> None:
        data = json.loads(json.dumps(builtin_contract("vtrix/r2v").data))
        data["id"], data["provider"] = "toy/r2v", "toy"
        data["transport"]["routes"]["cancel"] = {"method": "POST", "path": "/toy/tasks/{task_id}/cancel", "source": "toy#cancel"}
        data["sources"]["toy"] = {"title": "the toy provider of this test", "url": "https://toy.invalid/docs"}
        register(ContractProvider(Contract.from_data(data), dialect=ToyDialect()))


AUTH = {"authorization": f"Bearer {CANARY}"}
BODY = {
    "model": "wan26_r2v",
    "input": {"prompt": "character1 waves", "reference_urls": ["https://m.example/a.mp4"]},
    "parameters": {"size": "1280*720", "duration": 5},
}


def make_client(seed: int = 7) -> TestClient:
    app = create_app(Registry([ToyPlugin()], entry_points=False), seed=seed, frozen_clock=True)
    return TestClient(app, base_url="http://mock.test")


@pytest.fixture
def client() -> TestClient:
    return make_client()


def test_a_job_moves_through_its_states_on_the_virtual_clock(client: TestClient) -> None:
    job = client.post("/toy/tasks", json=BODY, headers=AUTH).json()
    assert job["state"] == "queued"
    assert client.get(f"/toy/tasks/{job['id']}", headers=AUTH).json()["state"] == "queued"  # frozen clock
    advance(client, 0.5)
    assert client.get(f"/toy/tasks/{job['id']}", headers=AUTH).json()["state"] == "running"
    advance(client, 1)
    done = client.get(f"/toy/tasks/{job['id']}", headers=AUTH).json()
    assert done["state"] == "succeeded"
    video = client.get(done["video"].removeprefix("http://mock.test"))
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4" and len(video.content) > 1000


def test_validation_answers_with_native_codes(client: TestClient) -> None:
    body = json.loads(json.dumps(BODY))
    body["input"]["reference_urls"] = [f"https://m.example/{i}.mp4" for i in range(4)]
    response = client.post("/toy/tasks", json=body, headers=AUTH)
    assert response.status_code == 400 and "001028003" in response.json()["errors"]


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_malformed_bodies_get_native_errors_never_500(client: TestClient, content: bytes) -> None:
    response = client.post("/toy/tasks", content=content, headers={**AUTH, "content-type": "application/json"})
    assert response.status_code in (400, 404)


def test_credentials_are_checked_and_never_journaled(client: TestClient) -> None:
    assert client.post("/toy/tasks", json=BODY).status_code == 401
    client.post("/toy/tasks", json=BODY, headers=AUTH)
    journal = client.get("/__wan26__/journal").text
    assert "canary-secret-123" not in journal and "REDACTED" in journal


def test_header_scenarios_and_queued_scenarios(client: TestClient) -> None:
    limited = client.post("/toy/tasks", json=BODY, headers={**AUTH, SCENARIO_HEADER: "rate_limited:4"})
    assert limited.status_code == 429 and limited.headers["retry-after"] == "4"
    queued = client.post("/__wan26__/scenarios", json={"scenario": "server_error:502", "count": 2, "action": "submit"})
    assert queued.status_code == 200
    assert [client.post("/toy/tasks", json=BODY, headers=AUTH).status_code for _ in range(3)] == [502, 502, 200]


def test_generation_failures_and_stuck_jobs(client: TestClient) -> None:
    failed = client.post("/toy/tasks", json=BODY, headers={**AUTH, SCENARIO_HEADER: "generation_failed:001028095"}).json()
    stuck = client.post("/toy/tasks", json=BODY, headers={**AUTH, SCENARIO_HEADER: "stuck"}).json()
    advance(client, 3600)
    assert client.get(f"/toy/tasks/{failed['id']}", headers=AUTH).json()["error"] == "001028095"
    assert client.get(f"/toy/tasks/{stuck['id']}", headers=AUTH).json()["state"] == "queued"


def test_malformed_scenario_truncates_the_body(client: TestClient) -> None:
    response = client.post("/toy/tasks", json=BODY, headers={**AUTH, SCENARIO_HEADER: "malformed"})
    with pytest.raises(ValueError):
        json.loads(response.text)
    assert len(client.get("/__wan26__/jobs").json()["jobs"]) == 1  # the job was accepted all the same


def test_cancel_and_unknown_jobs(client: TestClient) -> None:
    job = client.post("/toy/tasks", json=BODY, headers=AUTH).json()
    assert client.post(f"/toy/tasks/{job['id']}/cancel", headers=AUTH).status_code == 200
    assert client.get(f"/toy/tasks/{job['id']}", headers=AUTH).json()["state"] == "cancelled"
    assert client.post(f"/toy/tasks/{job['id']}/cancel", headers=AUTH).status_code == 409
    assert client.get("/toy/tasks/nope", headers=AUTH).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("POST", "/__wan26__/clock/advance", {"seconds": -1}),
        ("POST", "/__wan26__/clock/advance", {"seconds": "soon"}),
        ("POST", "/__wan26__/scenarios", {"scenario": "meteor"}),
        ("POST", "/__wan26__/scenarios", {"scenario": "stuck", "count": 0}),
        ("POST", "/__wan26__/scenarios", [1, 2]),
        ("GET", "/__wan26__/files/..%2F..%2Fetc%2Fpasswd", None),
        ("GET", "/__wan26__/files/../../etc/passwd", None),
        ("GET", "/__wan26__/jobs/nope", None),
        ("GET", "/__wan26__/nothing", None),
    ],
)
def test_admin_api_refuses_bad_input_clearly(client: TestClient, method: str, path: str, payload: Any) -> None:
    response = client.request(method, path, json=payload)
    assert response.status_code in (400, 404)
    assert "detail" in response.json()


def test_reset_clears_jobs_journal_and_faults(client: TestClient) -> None:
    client.post("/toy/tasks", json=BODY, headers=AUTH)
    client.post("/__wan26__/scenarios", json={"scenario": "stuck", "count": 5})
    assert client.post("/__wan26__/reset", json={}).status_code == 200
    assert client.get("/__wan26__/jobs").json()["jobs"] == []
    assert client.get("/__wan26__/scenarios").json()["pending"] == []
    assert all(e["provider"] is None for e in client.get("/__wan26__/journal").json()["entries"])


def test_seeded_engines_are_reproducible() -> None:
    first = [make_client(seed=3).post("/toy/tasks", json=BODY, headers=AUTH).json()["id"] for _ in range(2)]
    assert first[0] == first[1]
    assert make_client(seed=4).post("/toy/tasks", json=BODY, headers=AUTH).json()["id"] != first[0]


def test_health_lists_the_providers(client: TestClient) -> None:
    assert client.get("/__wan26__/health").json()["providers"] == ["toy/r2v"]


# --- dropped connections --------------------------------------------------------------------------


def test_connection_reset_raises_a_transport_error_and_takes_effect_only_with_after(client: TestClient) -> None:
    with pytest.raises(httpx.TransportError):
        client.post("/toy/tasks", json=BODY, headers={**AUTH, SCENARIO_HEADER: "connection_reset"})
    assert client.get("/__wan26__/jobs").json()["jobs"] == []  # dropped before it reached the provider
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/toy/tasks", json=BODY, headers={**AUTH, SCENARIO_HEADER: "connection_reset:after"})
    assert len(client.get("/__wan26__/jobs").json()["jobs"]) == 1  # accepted, but the answer was lost
    entries = client.get("/__wan26__/journal", params={"scenario": "connection_reset"}).json()["entries"]
    assert [e["response"] for e in entries] == [{"streamed": "application/octet-stream"}] * 2


def test_queued_connection_resets_hit_the_next_requests(client: TestClient) -> None:
    assert client.post("/__wan26__/scenarios", json={"scenario": "connection_reset", "count": 1}).status_code == 200
    with pytest.raises(httpx.TransportError):
        client.post("/toy/tasks", json=BODY, headers=AUTH)
    assert client.post("/toy/tasks", json=BODY, headers=AUTH).status_code == 200


# --- when a job changes next (what status streams wait for) ---------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_a_snapshot_never_changes_before_the_jobs_next_change(seed: int) -> None:
    contract = builtin_contract("fal/r2v-flash")
    request = GenerationRequest(prompt="a dance", references=[Reference("a", "https://m.example/a.mp4", "video")])
    store = JobStore(seed=seed, profile="fast")
    job = store.create("fal/r2v-flash", contract, request, {}, 1000.0)

    def seen(at: float) -> tuple[Any, ...]:
        snap = store.snapshot(job, at, contract)
        return snap.state, snap.queue_position, snap.logs

    now, changes = 1000.0, 0
    while (upcoming := job.next_change(now)) is not None:
        assert upcoming > now - 1e-9
        for step in range(1, 8):  # nothing visible changes strictly before the announced time
            assert seen(now + (upcoming - now) * step / 8) == seen(now)
        now, changes = max(upcoming, now) + 1e-9, changes + 1
        assert changes < 500
    assert seen(now)[0] == "succeeded" and job.ends_at() == job.finishes_at
    assert changes >= job.positions + 50  # queue positions, then (about) every percent of progress
    stuck = store.create("fal/r2v-flash", contract, request, {}, 1000.0)
    stuck.outcome = "stuck"
    assert stuck.next_change(1000.0) is None and stuck.ends_at() is None
    stuck.cancelled_at = 1001.0
    assert stuck.ends_at() == 1001.0 and stuck.next_change(1002.0) is None


def test_a_dialect_without_the_optional_parts_serves_as_before(client: TestClient) -> None:
    assert not isinstance(ToyDialect(), StreamingDialect) and not isinstance(ToyDialect(), WebhookDialect)
    assert client.post("/toy/tasks?fal_webhook=http://127.0.0.1:9/hook", json=BODY, headers=AUTH).status_code == 200
    assert client.get("/__wan26__/webhooks").json()["deliveries"] == []
    assert client.get("/.well-known/jwks.json").status_code == 404  # no contract publishes keys
    assert client.post("/files/upload", content=b"x").status_code == 404  # nor fal's storage
