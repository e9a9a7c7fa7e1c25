"""A user's project: a throw-away folder with test files only (no conftest, no ``pytest_plugins``), run by a fresh
pytest process in which the plugin arrives through its ``pytest11`` entry point, as it does where ``wan26[test]``
is installed. The mock serves HTTPS (``--wan26-mock-tls``), so fal-client reaches it from the environment alone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

DOC = Path(__file__).parents[2] / "docs" / "testing-with-wan26.md"

PROJECT_CONFIG = """
[tool.pytest.ini_options]
addopts = ["--strict-markers", "--strict-config", "-p", "no:cacheprovider"]
filterwarnings = ["error"]
wan26_mock_seed = "5"
wan26_mock_time_scale = "20"
"""

COMMON = """
import asyncio
import os

import httpx
import pytest

from wan26core import AsyncClient, Client

REQUEST = {"prompt": "@cat waves", "references": [{"name": "cat", "source": "https://example.com/cat.mp4"}]}
FAL_APP = "wan/v2.6/reference-to-video/flash"
FAL_ARGUMENTS = {"prompt": "Character1 waves", "video_urls": ["https://example.com/cat.mp4"], "duration": "5"}
"""

LIVE = (
    COMMON
    + """

def test_the_environment_points_every_client_at_the_mock(wan26_mock_server):
    assert wan26_mock_server.base_url.startswith("https://127.0.0.1:")
    assert os.environ["SSL_CERT_FILE"] == str(wan26_mock_server.ca_file)
    assert os.environ["FAL_QUEUE_RUN_HOST"] == wan26_mock_server.base_url[len("https://"):]
    assert os.environ["FAL_KEY"] == "mock-key"  # the real key of the outer environment is never used


def test_the_environment_is_restored_afterwards():
    assert os.environ["FAL_KEY"] == "real-key-never-sent"
    assert "FAL_QUEUE_RUN_HOST" not in os.environ and "WAN26_FAL_BASE_URL" not in os.environ


def test_fal_client_from_the_environment_alone(wan26_mock):
    import fal_client  # fal-client reads FAL_QUEUE_RUN_HOST when imported

    handle = fal_client.submit(FAL_APP, arguments=FAL_ARGUMENTS)
    wan26_mock.advance(600)
    assert fal_client.result(FAL_APP, handle.request_id)["video"]["url"].startswith(wan26_mock.base_url)
    wan26_mock.assert_submitted("fal/r2v-flash", prompt="Character1 waves")


def test_wan26_clients_over_https(wan26_mock, tmp_path):
    with Client("dashscope/r2v", time_scale=250) as client:
        client.generate(REQUEST, output=tmp_path / "out.mp4", timeout=30)
    assert (tmp_path / "out.mp4").read_bytes()[4:8] == b"ftyp"

    async def run():
        async with AsyncClient("aimlapi/r2v", time_scale=250) as client:
            return await client.generate(REQUEST, timeout=30)

    assert asyncio.run(run()).url.startswith(wan26_mock.base_url)
    wan26_mock.assert_submitted("dashscope/r2v", where={"input.prompt": "character1 waves"})
    wan26_mock.assert_submitted("aimlapi/r2v", prompt="character1 waves")


@pytest.mark.wan26("generation_failed", provider="vtrix/r2v")
def test_a_scenario_by_marker(wan26_mock):
    from wan26core import GenerationFailedError

    with Client("vtrix/r2v", time_scale=250) as client:
        with pytest.raises(GenerationFailedError):
            client.generate(REQUEST, timeout=30)
    assert wan26_mock.jobs()[0]["state"] == "failed"


def test_every_test_starts_clean(wan26_mock):
    assert wan26_mock.journal() == [] and wan26_mock.jobs() == []
"""
)

ROUTES = (
    COMMON
    + """

def test_sync_and_async_clients_in_process(wan26_routes):
    with Client("fal/r2v-flash", time_scale=250) as client:
        assert client.generate(REQUEST, timeout=30).url.startswith("https://queue.fal.run/")

    async def run():
        async with AsyncClient("vtrix/r2v", time_scale=250) as client:
            return await client.generate(REQUEST, timeout=30)

    assert asyncio.run(run()).url.startswith("https://cloud.vtrix.ai/")
    wan26_routes.assert_submitted("fal/r2v-flash", prompt="Character1 waves")
    wan26_routes.assert_submitted("vtrix/r2v")


@pytest.mark.wan26("rate_limited:0.01", provider="dashscope/r2v", action="submit", providers=["dashscope"])
def test_a_scenario_by_marker_in_process(wan26_routes):
    with Client("dashscope/r2v") as client:
        client.submit(REQUEST)
    assert [e.status for e in wan26_routes.submits("dashscope/r2v", include_refused=True)] == [429, 200]
    with pytest.raises(AssertionError, match="not routed"):
        httpx.get("https://queue.fal.run/anything")


@pytest.mark.wan26(providers=["aimlapi"])
def test_a_declared_provider_never_called(wan26_routes):
    pass


@pytest.mark.wan26(providers=["aimlapi"])
def test_a_failing_body_gets_no_second_error(wan26_routes):
    assert False, "the body failed"


@pytest.mark.wan26("meteor_strike")
def test_a_misspelt_scenario(wan26_routes):
    pass
"""
)


def doc_examples() -> dict[str, str]:
    """The documentation's complete test files: Python blocks whose first line is ``# test_<name>.py``."""
    blocks = re.findall(r"```python\n# (test_\w+)\.py\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    return dict(blocks)


def test_a_throwaway_project_uses_every_fixture(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.setenv("FAL_KEY", "real-key-never-sent")
    monkeypatch.setenv("WAN26_MOCK_CA_DIR", str(pytester.path / "ca"))
    for name in ("FAL_QUEUE_RUN_HOST", "WAN26_FAL_BASE_URL", "WAN26_HOME", "WAN26_LOAD_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    pytester.makefile(".toml", pyproject=PROJECT_CONFIG)
    examples = doc_examples()
    assert len(examples) >= 5, f"{DOC.name}: its example test files were not found"
    pytester.makepyfile(test_live=LIVE, test_routes=ROUTES, **examples)
    result = pytester.runpytest_subprocess("--wan26-mock-tls", "-rA", timeout=120)
    documented = sum(len(re.findall(r"^def test_", text, flags=re.M)) for text in examples.values())
    # the declared-but-never-called test: passed, then an error at teardown
    result.assert_outcomes(passed=9 + documented, failed=1, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_a_declared_provider_never_called*",
            "wan26: the test declared provider(s) ['aimlapi'] but never reached them",
        ]
    )
    misspelt = "@pytest.mark.wan26: scenario 'meteor_strike': *scenario must be one of*"
    result.stdout.fnmatch_lines(["*ERROR at setup of test_a_misspelt_scenario*", misspelt])
    result.stdout.fnmatch_lines(["FAILED test_routes.py::test_a_failing_body_gets_no_second_error*"])
    result.stdout.no_fnmatch_line("*ERROR at teardown of test_a_failing_body_gets_no_second_error*")
    assert "conftest" not in {p.stem for p in pytester.path.glob("*.py")}
