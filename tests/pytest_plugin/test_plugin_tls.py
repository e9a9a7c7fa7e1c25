"""fal-client against the plugin's live mock with no TLS setting at all: the plugin serves HTTPS by itself when
fal-client is installed, and the session's mock tears down in well under 2 s."""

from __future__ import annotations

import re

import pytest

from wan26core.testing.config import MockConfig, config_from, https_only_client_installed

pytest_plugins = ["pytester"]

PROJECT = """
[tool.pytest.ini_options]
addopts = ["--strict-markers", "--strict-config", "-p", "no:cacheprovider"]
filterwarnings = ["error"]
wan26_mock_time_scale = "20"
"""

FAL_TEST = """
def test_fal_client(wan26_mock):
    import fal_client

    app = "wan/v2.6/reference-to-video/flash"
    handle = fal_client.submit(app, arguments={"prompt": "Character1 waves", "video_urls": ["https://example.com/c.mp4"]})
    wan26_mock.advance(600)
    assert fal_client.result(app, handle.request_id)["video"]["url"]
"""


def test_tls_is_auto_by_default_and_can_be_set_either_way() -> None:
    ini = {"wan26_mock_seed": "", "wan26_mock_profile": "fast", "wan26_mock_time_scale": "1"}
    assert config_from({**ini, "wan26_mock_tls": "auto"}.__getitem__, False).tls is https_only_client_installed()
    assert config_from({**ini, "wan26_mock_tls": "false"}.__getitem__, False) == MockConfig(tls=False)
    assert config_from({**ini, "wan26_mock_tls": "false"}.__getitem__, True).tls is True  # --wan26-mock-tls wins
    assert config_from({**ini, "wan26_mock_tls": "yes"}.__getitem__, False).tls is True
    with pytest.raises(ValueError, match="auto, true, false"):
        config_from({**ini, "wan26_mock_tls": "sometimes"}.__getitem__, False)


@pytest.mark.skipif(not https_only_client_installed(), reason="needs fal-client (the [compat] extra)")
def test_fal_client_reaches_the_mock_without_a_tls_flag_and_teardown_is_quick(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.setenv("WAN26_MOCK_CA_DIR", str(pytester.path / "ca"))
    for name in ("FAL_QUEUE_RUN_HOST", "WAN26_FAL_BASE_URL", "WAN26_HOME", "WAN26_LOAD_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    pytester.makefile(".toml", pyproject=PROJECT)
    pytester.makepyfile(test_fal=FAL_TEST)
    result = pytester.runpytest_subprocess("--durations=0", "--durations-min=0", "-vv", timeout=120)
    result.assert_outcomes(passed=1)
    teardown = re.search(r"([0-9.]+)s teardown\s+test_fal\.py::test_fal_client", str(result.stdout))
    assert teardown is not None, result.stdout
    assert float(teardown.group(1)) < 2.0  # the session's mock included (26 s with TLS before)
