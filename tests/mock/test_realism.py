"""Details a real provider has and a toy mock lacks: each job its own output URL, fresh DashScope request ids,
failures in each provider's own catalogued codes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mockkit import CANARY, advance, mock_client
from support import BUILTIN_PLUGINS, CONTRACTS
from support import PROVIDERS as PLUGINS
from wan26core import GenerationRequest
from wan26core.protocol import ContractClientProtocol, HttpReply, JobRef, VideoResult

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


def submit(client: TestClient, pid: str, headers: dict[str, str] | None = None) -> tuple[JobRef, HttpReply]:
    """One valid job of ``pid`` (the same body every time)."""
    request = GenerationRequest.from_dict(
        {"prompt": "@cat waves", "references": [{"name": "cat", "source": "https://example.com/cat.mp4"}], "duration": 5}
    )
    call = protocol(pid).submit_call(PLUGINS[pid].render(request), key=CANARY, base_url=BASE)
    call = type(call)(call.method, call.url, {**call.headers, **(headers or {})}, call.json)
    reply = send(client, call)
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


def contract_codes(pid: str) -> set[str]:
    return {e["code"] for e in CONTRACTS[pid].data["errors"]}
