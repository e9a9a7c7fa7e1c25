"""``wan26_mock_server`` and ``wan26_mock``: the live mock, its environment, and the handle's API."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest
from plugkit import REQUEST, VIDEOS

from wan26_mock.serve import MockServer
from wan26core import AsyncClient, Client
from wan26core.testing.control import AdminError, JournalEntry
from wan26core.testing.environment import DUMMY_KEY, live_environment
from wan26core.testing.live import LiveMock

pytest_plugins = ["pytester"]


def test_the_server_is_live_on_loopback_and_the_environment_points_at_it(wan26_mock_server: MockServer) -> None:
    base = wan26_mock_server.base_url
    assert base.startswith("http://127.0.0.1:")
    assert httpx.get(f"{wan26_mock_server.admin_url}/health", trust_env=False).json()["status"] == "ok"
    for provider in ("fal", "aimlapi", "vtrix", "dashscope"):
        assert os.environ[f"WAN26_{provider.upper()}_BASE_URL"] == base
    assert os.environ["FAL_QUEUE_RUN_HOST"] == base.split("://", 1)[1]  # fal-client's form: host:port
    assert os.environ["DASHSCOPE_HTTP_BASE_URL"] == f"{base}/api/v1"
    assert os.environ["AIML_API_BASE"] == os.environ["AIMLAPI_API_BASE"] == f"{base}/v1"
    for key in ("FAL_KEY", "AIML_API_KEY", "AIMLAPI_API_KEY", "VTRIX_API_KEY", "DASHSCOPE_API_KEY"):
        assert os.environ[key] == DUMMY_KEY
    home = Path(os.environ["WAN26_HOME"])
    assert home.is_dir() and not any(home.iterdir())  # a fresh folder: mock jobs stay out of the real journal


def test_the_server_alone_serves_clients_configured_by_the_environment(wan26_mock_server: MockServer) -> None:
    with Client("vtrix/r2v") as client:  # no key, no base URL given: both come from the environment
        job = client.submit(REQUEST)
    assert job.remote_id in wan26_mock_server.engine.jobs.jobs


def test_keys_are_dummies_even_when_real_ones_are_exported_and_proxies_skip_loopback(
    wan26_mock_server: MockServer,
) -> None:
    outside = {"FAL_KEY": "real-secret", "HTTPS_PROXY": "http://proxy.example:3128", "NO_PROXY": "corp.example"}
    env = live_environment(wan26_mock_server.env(), wan26_mock_server.engine.contracts, outside)
    assert env["FAL_KEY"] == env["AIMLAPI_API_KEY"] == DUMMY_KEY
    assert env["NO_PROXY"].split(",") == ["corp.example", "127.0.0.1", "localhost", "::1"]
    assert "NO_PROXY" not in live_environment(wan26_mock_server.env(), wan26_mock_server.engine.contracts, {})


def test_the_environment_is_restored_after_each_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest
        from support import builtin_registry
        from wan26core.testing.config import MockConfig

        @pytest.fixture(scope="session")
        def wan26_mock_config():
            return MockConfig(registry=builtin_registry())
        """
    )
    pytester.makepyfile(
        """
        import os

        def test_a(wan26_mock_server):
            assert os.environ["VTRIX_API_KEY"] == "mock-key"
            assert os.environ["WAN26_VTRIX_BASE_URL"] == wan26_mock_server.base_url

        def test_b():
            assert os.environ.get("VTRIX_API_KEY") == "outer"
            assert "WAN26_VTRIX_BASE_URL" not in os.environ and "WAN26_HOME" not in os.environ
        """
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VTRIX_API_KEY", "outer")
        patch.delenv("WAN26_VTRIX_BASE_URL", raising=False)
        patch.delenv("WAN26_HOME", raising=False)
        result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_the_sync_client_runs_a_job_on_the_live_mock(wan26_mock: LiveMock, tmp_path: Path) -> None:
    with Client("dashscope/r2v", time_scale=250) as client:
        result = client.generate(REQUEST, output=tmp_path / "out.mp4", timeout=20)
    assert (tmp_path / "out.mp4").read_bytes()[4:8] == b"ftyp"
    assert result.url.startswith(wan26_mock.base_url)
    [entry] = wan26_mock.assert_submitted("dashscope/r2v", where={"input.prompt": "character1 waves at character2"})
    assert entry.body["input"]["reference_urls"] == VIDEOS
    assert entry.headers["authorization"] == "Bearer REDACTED"
    assert [job["state"] for job in wan26_mock.jobs()] == ["succeeded"]
    assert Path(os.environ["WAN26_HOME"], "journal.sqlite3").exists()  # the client journaled there


def test_the_async_client_runs_jobs_on_the_live_mock(wan26_mock: LiveMock) -> None:
    async def run() -> list[str]:
        async with AsyncClient("aimlapi/r2v", time_scale=250) as client:
            results = await asyncio.gather(*(client.generate(REQUEST, timeout=20) for _ in range(2)))
        return [r.job.remote_id for r in results]

    assert len(set(asyncio.run(run()))) == 2
    wan26_mock.assert_submitted("aimlapi/r2v", count=2, prompt="character1 waves at character2", video_urls=VIDEOS)


def test_each_test_starts_with_a_clean_mock(wan26_mock: LiveMock) -> None:
    assert wan26_mock.journal() == [] and wan26_mock.jobs() == [] and wan26_mock.pending_scenarios() == []


def test_scenarios_clock_and_jobs(wan26_mock: LiveMock) -> None:
    wan26_mock.scenario("stuck", provider="vtrix/r2v", action="submit")
    assert wan26_mock.pending_scenarios()[0]["scenario"] == "stuck"
    with Client("vtrix/r2v") as client:
        job = client.submit(REQUEST)
        before = wan26_mock.now()
        assert wan26_mock.advance(3600) >= before + 3600
        assert wan26_mock.job(job.remote_id)["state"] == "queued"  # stuck: an hour later still queued
        job2 = client.submit(REQUEST)  # the scenario was used up by the first submit
        wan26_mock.advance(60)
        assert wan26_mock.job(job2.remote_id)["state"] == "succeeded"
    assert {j["id"] for j in wan26_mock.jobs()} == {job.remote_id, job2.remote_id}
    assert [e.action for e in wan26_mock.journal(job_id=job.remote_id)] == ["submit"]


def test_bad_scenarios_name_the_field(wan26_mock: LiveMock) -> None:
    with pytest.raises(ValueError, match="provider: 'fal' is not served by the mock \\(give a provider/model id\\)"):
        wan26_mock.scenario("stuck", provider="fal")
    with pytest.raises(ValueError, match="action: 'sumbit' is not one of"):
        wan26_mock.scenario("stuck", action="sumbit")
    with pytest.raises(ValueError, match=r"scenario 'meteor_strike': .*scenario must be one of"):
        wan26_mock.scenario("meteor_strike")
    with pytest.raises(AdminError, match="HTTP 404: no such job"):
        wan26_mock.job("nope")
    with pytest.raises(ValueError, match=r"providers: \['wavespeed'\] not served"):
        wan26_mock.declare("wavespeed")


def test_assert_submitted_explains_what_it_saw(wan26_mock: LiveMock) -> None:
    wan26_mock.scenario("rate_limited:0.01", provider="fal/r2v-flash", action="submit")
    with Client("fal/r2v-flash") as client:
        client.submit(REQUEST)
    wan26_mock.assert_submitted("fal/r2v-flash", prompt="Character1 waves at Character2", video_urls__1=VIDEOS[1])
    wan26_mock.assert_submitted("fal/r2v-flash", count=2, include_refused=True)
    with pytest.raises(AssertionError) as caught:
        wan26_mock.assert_submitted("fal/r2v-flash", prompt="a dog", duration="5")
    message = str(caught.value)
    assert message.startswith("expected 1 accepted submits to fal/r2v-flash with {'prompt': 'a dog', 'duration': '5'}, found 0")
    assert "-> 200 (fal/r2v-flash, submit): prompt='Character1 waves at Character2'" in message
    with pytest.raises(AssertionError, match="expected 1 accepted submits to vtrix/r2v, found 0"):
        wan26_mock.assert_submitted("vtrix/r2v")
    with pytest.raises(AssertionError, match="expected no submit to fal/r2v-flash, found 2"):
        wan26_mock.assert_not_submitted("fal/r2v-flash")
    wan26_mock.assert_not_submitted("vtrix/r2v")


def test_journal_entries_are_typed(wan26_mock: LiveMock) -> None:
    response = httpx.post(
        f"{wan26_mock.base_url}/model/v1/generation", json={"model": "wan26_r2v"}, headers={"Authorization": "Bearer k"}
    )
    assert response.status_code >= 400
    [entry] = wan26_mock.journal()
    assert isinstance(entry, JournalEntry)
    assert (entry.method, entry.path, entry.status, entry.action) == (
        "POST",
        "/model/v1/generation",
        response.status_code,
        "submit",
    )
    assert entry.body == {"model": "wan26_r2v"}
    assert entry.summary() == f"#{entry.seq} POST /model/v1/generation -> {entry.status} (vtrix/r2v, submit)"
    assert wan26_mock.submits("vtrix/r2v") == [] and len(wan26_mock.submits("vtrix/r2v", include_refused=True)) == 1


def test_declared_providers_must_be_reached(wan26_mock: LiveMock) -> None:
    wan26_mock.declare("aimlapi", "vtrix/r2v")
    assert wan26_mock.unreached() == ["aimlapi", "vtrix/r2v"]
    with Client("aimlapi/r2v") as client:
        client.submit(REQUEST)
    assert wan26_mock.unreached() == ["vtrix/r2v"]
    with Client("vtrix/r2v") as client:
        client.submit(REQUEST)
    assert wan26_mock.unreached() == []  # else the fixture fails the test at teardown


def test_env_gives_each_providers_settings_for_a_subprocess(wan26_mock: LiveMock) -> None:
    assert wan26_mock.env("dashscope") == {
        "DASHSCOPE_HTTP_BASE_URL": f"{wan26_mock.base_url}/api/v1",
        "DASHSCOPE_API_KEY": DUMMY_KEY,
        "WAN26_DASHSCOPE_BASE_URL": wan26_mock.base_url,
    }
    assert wan26_mock.ca_file is None and repr(wan26_mock) == f"<LiveMock {wan26_mock.base_url}>"
