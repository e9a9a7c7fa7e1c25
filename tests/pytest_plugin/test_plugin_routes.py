"""``wan26_routes``: the providers' real hosts answered in process, for sync and async clients, with respx's strictness."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path
from typing import Any

import fal_client
import httpx
import pytest
from plugkit import FAL_APP, FAL_ARGUMENTS, REQUEST, VIDEOS

from support import builtin_registry
from wan26_mock.engine import Engine
from wan26core import AsyncClient, Client
from wan26core.testing.environment import DUMMY_KEY
from wan26core.testing.live import LiveMock
from wan26core.testing.routes import MockRoutes, UnroutedRequestError, provider_hosts

SCENARIO = "X-Wan26-Mock-Scenario"


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a network connection fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_the_sync_client_streams_fal_status_and_downloads_in_process(
    wan26_routes: MockRoutes, no_sockets: None, tmp_path: Path
) -> None:
    seen: list[str] = []
    with Client("fal/r2v-flash", time_scale=250) as client:
        result = client.generate(REQUEST, output=tmp_path / "out.mp4", timeout=20, on_update=lambda s: seen.append(s.state))
    assert (tmp_path / "out.mp4").read_bytes()[4:8] == b"ftyp"
    assert result.url.startswith("https://queue.fal.run/__wan26__/files/")
    assert seen[-1] == "succeeded"
    actions = [e.action for e in wan26_routes.journal(provider="fal/r2v-flash")]
    assert actions[:2] == ["submit", "stream"] and "status" not in actions  # followed by fal's SSE stream, in process
    wan26_routes.assert_submitted("fal/r2v-flash", prompt="Character1 waves at Character2", video_urls=VIDEOS)
    assert wan26_routes.routes("fal")[0].call_count >= 3


def test_the_async_client_streams_in_process(wan26_routes: MockRoutes, no_sockets: None) -> None:
    async def run() -> list[str]:
        async with AsyncClient("fal/r2v-flash", time_scale=250) as client:
            results = await asyncio.gather(*(client.generate(REQUEST, timeout=20) for _ in range(3)))
        return [r.job.remote_id for r in results]

    assert len(set(asyncio.run(run()))) == 3
    wan26_routes.assert_submitted("fal/r2v-flash", count=3)
    assert len([e for e in wan26_routes.journal(action="stream") if e.status == 200]) == 3


def test_polling_providers_in_process(wan26_routes: MockRoutes, no_sockets: None) -> None:
    with Client(time_scale=250) as client:
        for provider in ("aimlapi/r2v", "vtrix/r2v", "dashscope/r2v"):
            assert client.generate(REQUEST, provider, timeout=20).url
            wan26_routes.assert_submitted(provider)
    assert {job["provider"] for job in wan26_routes.jobs()} == {"aimlapi/r2v", "vtrix/r2v", "dashscope/r2v"}


def test_fal_client_runs_in_process_on_its_default_host(wan26_routes: MockRoutes) -> None:
    handle = fal_client.submit(FAL_APP, arguments=FAL_ARGUMENTS)
    wan26_routes.advance(600)
    assert isinstance(fal_client.status(FAL_APP, handle.request_id, with_logs=True), fal_client.Completed)
    assert fal_client.result(FAL_APP, handle.request_id)["video"]["url"].startswith("https://queue.fal.run/")
    wan26_routes.assert_submitted("fal/r2v-flash", **FAL_ARGUMENTS)

    async def run() -> Any:
        return await fal_client.subscribe_async(FAL_APP, arguments=FAL_ARGUMENTS)

    assert asyncio.run(run())["video"]["url"]
    wan26_routes.assert_submitted("fal/r2v-flash", count=2)


def test_more_hosts_can_be_routed(wan26_routes: MockRoutes) -> None:
    wan26_routes.add_host("https://v3.fal.media", "fal")  # fal-client's upload CDN, a constant of its code
    url = fal_client.upload(b"\x89PNG fake", "image/png", file_name="cat.png")
    assert httpx.get(url).content == b"\x89PNG fake"
    assert wan26_routes.hosts["fal"][-1] == "https://v3.fal.media"


def test_other_hosts_are_refused_clearly(wan26_routes: MockRoutes) -> None:
    with pytest.raises(UnroutedRequestError, match=r"wan26_routes: GET https://example\.org/x is not routed\. Routed hosts: "):
        httpx.get("https://example.org/x")

    async def run() -> None:
        async with httpx.AsyncClient() as http:
            await http.get("http://127.0.0.1:9/nothing")

    with pytest.raises(UnroutedRequestError, match="add_host"):
        asyncio.run(run())


@pytest.mark.wan26(providers=["vtrix/r2v"])
def test_declared_providers_are_the_only_ones_routed(wan26_routes: MockRoutes) -> None:
    assert list(wan26_routes.hosts) == ["vtrix"]
    with pytest.raises(UnroutedRequestError, match=r"the test declared providers \['vtrix/r2v'\]"):
        httpx.post("https://queue.fal.run/wan/v2.6/reference-to-video/flash", json={})
    with Client("vtrix/r2v") as client:
        client.submit(REQUEST)
    assert wan26_routes.unreached() == []


def test_undeclared_reached_providers_fail_verify() -> None:
    routes = MockRoutes(Engine(builtin_registry()), providers=["vtrix", "dashscope/r2v"])
    assert routes.unreached() == ["vtrix", "dashscope/r2v"]
    with pytest.raises(AssertionError, match=r"declared provider\(s\) \['vtrix', 'dashscope/r2v'\] were never called"):
        routes.verify()
    with pytest.raises(ValueError, match=r"providers: \['fal/nope'\] not served"):
        MockRoutes(Engine(builtin_registry()), providers=["fal/nope"])
    routes.stop()


@pytest.mark.wan26("rate_limited:0.01", provider="aimlapi/r2v", action="submit")
def test_the_marker_queues_a_scenario(wan26_routes: MockRoutes) -> None:
    assert wan26_routes.pending_scenarios()[0]["scenario"] == "rate_limited"
    with Client("aimlapi/r2v") as client:
        client.submit(REQUEST)
    assert [e.status for e in wan26_routes.submits("aimlapi/r2v", include_refused=True)] == [429, 200]


def test_read_timeouts_and_resets_happen_in_process(wan26_routes: MockRoutes) -> None:
    url = "https://api.aimlapi.com/v2/video/generations"
    body = {"model": "alibaba/wan-2-6-r2v"}  # names the endpoint; the missing prompt is refused after the fault
    auth = {"Authorization": "Bearer k"}
    slow = httpx.Timeout(5, read=0.05)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(url, json=body, headers={**auth, SCENARIO: "latency:400"}, timeout=slow)
    with pytest.raises(httpx.RemoteProtocolError, match="connection was reset"):
        httpx.post(url, json=body, headers={**auth, SCENARIO: "connection_reset"})

    async def run() -> None:
        async with httpx.AsyncClient() as http:
            with pytest.raises(httpx.ReadTimeout):
                await http.post(url, json=body, headers={**auth, SCENARIO: "latency:400"}, timeout=slow)
            with pytest.raises(httpx.RemoteProtocolError):
                await http.post(url, json=body, headers={**auth, SCENARIO: "connection_reset"})
            assert (await http.post(url, json=body, headers=auth)).status_code == 400  # AI/ML API's validation error

    asyncio.run(run())


def test_the_environment_sends_clients_to_the_real_hosts_with_dummy_keys(wan26_routes: MockRoutes) -> None:
    for name in ("WAN26_FAL_BASE_URL", "FAL_QUEUE_RUN_HOST", "DASHSCOPE_HTTP_BASE_URL", "AIML_API_BASE"):
        assert name not in os.environ
    assert os.environ["FAL_KEY"] == os.environ["DASHSCOPE_API_KEY"] == DUMMY_KEY
    assert Path(os.environ["WAN26_HOME"]).is_dir()
    hosts = provider_hosts(wan26_routes.engine.contracts["dashscope"].values())
    assert hosts == (
        "https://dashscope-intl.aliyuncs.com",
        "https://dashscope-us.aliyuncs.com",
        "https://dashscope.aliyuncs.com",
    )
    assert {"https://queue.fal.run", "https://rest.fal.ai", "https://rest.alpha.fal.ai"} <= set(wan26_routes.hosts["fal"])


def test_routes_and_the_live_mock_in_one_test(wan26_mock: LiveMock, wan26_routes: MockRoutes) -> None:
    with Client("vtrix/r2v") as client:
        client.submit(REQUEST)  # the environment's base URL was removed: the routes answer
    wan26_routes.assert_submitted("vtrix/r2v")
    wan26_mock.assert_not_submitted()  # the admin API of the live mock passes through respx
    assert httpx.get(f"{wan26_mock.base_url}/__wan26__/health").status_code == 200
