"""Details a real provider has and a toy mock lacks: each job its own output URL, fresh DashScope request ids,
failures in each provider's own catalogued codes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mockkit import CANARY, SCENARIO, advance, mock_client
from support import BUILTIN_PLUGINS, CONTRACTS
from support import PROVIDERS as PLUGINS
from wan26core import GenerationRequest
from wan26core.protocol import ContractClientProtocol, HttpCall, HttpReply, JobRef, VideoResult

BASE = "http://mock.test"
#: one model of each provider (the engine is shared by the provider's models)
ONE_PER_PROVIDER = ["aimlapi/r2v", "dashscope/r2v", "fal/r2v-flash", "vtrix/r2v"]


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with mock_client(*BUILTIN_PLUGINS) as mock:
        yield mock


def protocol(pid: str) -> Any:
    plugin = PLUGINS[pid]
    return getattr(plugin, "protocol", None) or ContractClientProtocol(plugin.contract)


def send(client: TestClient, call: Any) -> HttpReply:
    answer = client.request(call.method, call.url, headers=dict(call.headers), json=call.json)
    return HttpReply(answer.status_code, {k.lower(): v for k, v in answer.headers.items()}, answer.content, call.url)


def submit_call(pid: str, headers: dict[str, str] | None = None) -> HttpCall:
    """The submit of one valid job of ``pid`` (the same body every time), with ``headers`` added."""
    request = GenerationRequest.from_dict(
        {"prompt": "@cat waves", "references": [{"name": "cat", "source": "https://example.com/cat.mp4"}], "duration": 5}
    )
    call: HttpCall = protocol(pid).submit_call(PLUGINS[pid].render(request), key=CANARY, base_url=BASE)
    return HttpCall(call.method, call.url, {**call.headers, **(headers or {})}, call.json)


def submit(client: TestClient, pid: str, headers: dict[str, str] | None = None) -> tuple[JobRef, HttpReply]:
    """One valid job of ``pid``, accepted."""
    reply = send(client, submit_call(pid, headers))
    assert reply.ok, (reply.status, reply.body[:300])
    return protocol(pid).parse_submitted(reply), reply


def result(client: TestClient, pid: str, ref: JobRef) -> VideoResult:
    video: VideoResult = protocol(pid).parse_result(send(client, protocol(pid).result_call(ref, key=CANARY, base_url=BASE)), ref)
    return video


# --- output URLs -----------------------------------------------------------------------------------
@pytest.mark.parametrize("pid", ONE_PER_PROVIDER)
def test_each_job_gets_its_own_output_url_and_only_real_ones_are_served(client: TestClient, pid: str) -> None:
    first, _ = submit(client, pid)
    second, _ = submit(client, pid)
    advance(client, 3600)
    one, two = result(client, pid, first), result(client, pid, second)
    assert one.url != two.url  # the same shape, the same file on disk: still each job's own URL
    assert first.job_id in one.url and second.job_id in two.url
    downloads = [client.get(video.url) for video in (one, two)]
    assert [d.status_code for d in downloads] == [200, 200]
    assert downloads[0].content == downloads[1].content and one.file_size in (None, len(downloads[0].content))
    assert client.head(one.url).status_code == 200

    path = httpx.URL(one.url).path
    prefix, job_id, name = path.rsplit("/", 2)
    unknown = [
        f"{prefix}/{name}",  # the shared file's own name: no job gave that URL out
        f"{prefix}/{job_id}/other-{name}",
        f"{prefix}/00000000-0000-4000-8000-000000000000/{name}",
        f"{prefix}/{job_id}/../{name}",
        f"{prefix}/{job_id}",
    ]
    for url in unknown:
        assert client.get(url).status_code == 404, url


def test_a_job_not_finished_has_no_file(client: TestClient) -> None:
    ref, _ = submit(client, "fal/r2v-flash")
    assert client.get(f"/__wan26__/files/{ref.job_id}/wan26-1280x720-5s-16fps.mp4").status_code == 404


# --- failures in the provider's own codes ----------------------------------------------------------
def contract_codes(pid: str) -> set[str]:
    return {e["code"] for e in CONTRACTS[pid].data["errors"]}


@pytest.mark.parametrize("fault", ["generation_failed", "content_policy"])
@pytest.mark.parametrize("pid", ONE_PER_PROVIDER)
def test_a_failed_generation_reports_a_code_of_the_providers_catalogue(client: TestClient, pid: str, fault: str) -> None:
    ref, _ = submit(client, pid, {SCENARIO: fault})
    advance(client, 3600)
    reply = send(client, protocol(pid).status_call(ref, key=CANARY, base_url=BASE))
    status = protocol(pid).parse_status(reply, ref)
    assert status.state == "failed" and status.error is not None, reply.body[:300]
    assert status.error.native_code in contract_codes(pid), (status.error.native_code, reply.body[:300])


def test_dashscope_reports_a_refused_output_as_its_task_level_inspection_failure(client: TestClient) -> None:
    ref, _ = submit(client, "dashscope/r2v", {SCENARIO: "content_policy"})
    advance(client, 3600)
    output = send(client, protocol("dashscope/r2v").status_call(ref, key=CANARY, base_url=BASE)).json()["output"]
    assert (output["task_status"], output["code"]) == ("FAILED", "DataInspectionFailed")
    assert output["message"] == "Output data may contain inappropriate content."  # the output's, not the input's


@pytest.mark.parametrize("fault", ["rate_limited", "server_error", "unauthorized"])
@pytest.mark.parametrize("pid", ONE_PER_PROVIDER)
def test_an_injected_refusal_without_argument_uses_a_catalogued_code(client: TestClient, pid: str, fault: str) -> None:
    reply = send(client, submit_call(pid, {SCENARIO: fault}))
    assert reply.status >= 400
    error = protocol(pid).error_from(reply)
    # a code of the catalogue, or (fal's request errors carry none: {"detail": message}) a catalogued answer
    catalogued = {(e["http_status"], e["message"]) for e in CONTRACTS[pid].data["errors"]}
    assert error.native_code in contract_codes(pid) or (reply.status, error.native_message) in catalogued, reply.body[:300]


# --- DashScope's request_id ------------------------------------------------------------------------
def request_ids(answers: list[httpx.Response], field: str = "request_id") -> list[str]:
    ids = [answer.json()[field] for answer in answers]
    for value in ids:
        parsed = uuid.UUID(value)
        assert parsed.version == 4 and str(parsed) == value
    return ids


def test_dashscope_gives_every_request_a_fresh_request_id_identical_requests_included(client: TestClient) -> None:
    ref, submitted = submit(client, "dashscope/r2v")
    again, _ = submit(client, "dashscope/r2v")
    poll = protocol("dashscope/r2v").status_call(ref, key=CANARY, base_url=BASE)
    polls = [client.get(poll.url, headers=dict(poll.headers)) for _ in range(3)]  # the same job, the same phase
    unknown = [client.get("/api/v1/tasks/no-such-task", headers=dict(poll.headers)) for _ in range(2)]
    refused = [client.get(poll.url) for _ in range(2)]  # no key: DashScope's error body has a request_id too
    assert [p.status_code for p in polls + unknown] == [200] * 5 and [r.status_code for r in refused] == [401, 401]
    assert polls[0].json()["output"] == polls[2].json()["output"]
    ids = [*request_ids(polls + unknown + refused), json.loads(submitted.body)["request_id"]]
    assert len(set(ids)) == len(ids)
    advance(client, 3600)
    finished = [client.get(poll.url, headers=dict(poll.headers)) for _ in range(2)]
    assert finished[0].json()["output"]["task_status"] == "SUCCEEDED"
    assert len(set(request_ids(finished))) == 2
    assert again.job_id != ref.job_id


def test_aimlapi_errors_carry_a_fresh_request_id(client: TestClient) -> None:
    refused = [client.post("/v2/video/generations", json={"model": "alibaba/wan-2-6-r2v"}) for _ in range(2)]
    assert [r.status_code for r in refused] == [401, 401]
    assert len(set(request_ids(refused, "requestId"))) == 2


def test_a_seeded_mock_draws_the_same_request_ids_in_the_same_order_again_after_a_reset() -> None:
    def run(client: TestClient) -> list[str]:
        answers = [client.get("/api/v1/tasks/no-such-task", headers={"Authorization": "Bearer k"}) for _ in range(3)]
        return request_ids(answers)

    with mock_client(*BUILTIN_PLUGINS, seed=5) as one, mock_client(*BUILTIN_PLUGINS, seed=5) as two:
        first = run(one)
        assert run(two) == first and len(set(first)) == 3
        assert one.post("/__wan26__/reset", json={}).status_code == 200
        assert run(one) == first
    with mock_client(*BUILTIN_PLUGINS, seed=6) as other:
        assert set(run(other)).isdisjoint(first)
