"""The example third-party plugin (examples/wan26-wavespeed), installed like any other: discovered through its entry
point, listed by ``wan26 providers``, served by ``wan26 mock serve``, checked by ``wan26 contracts check``, and
conformant to the kit. Install it first: ``python -m pip install --no-deps ./examples/wan26-wavespeed`` (tox does).
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest

from wan26core import Client, Registry
from wan26core._journal import Journal
from wan26core.cli import main
from wan26core.drift._openapi import openapi_document, surfaces
from wan26core.testing import ProviderConformance

try:
    import wan26_wavespeed
except ImportError as exc:  # a clear collection error instead of a skip: the suite needs the example installed
    raise ImportError("the example plugin is not installed: python -m pip install --no-deps ./examples/wan26-wavespeed") from exc

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "wan26-wavespeed"
SUBMIT = "/api/v3/alibaba/wan-2.6/reference-to-video"
REQUEST = {
    "prompt": "@dancer dances in the rain",
    "references": [{"name": "dancer", "source": "https://example.com/dancer.mp4"}],
    "duration": 5,
}


class TestWaveSpeedThroughTheKit(ProviderConformance):
    provider = "wavespeed"


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Registry:
    """Every installed plugin, as a user's process sees them."""
    monkeypatch.delenv("WAN26_LOAD_PLUGINS", raising=False)
    return Registry()


def test_it_is_discovered_through_its_wan26_entry_point(installed: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    points = {ep.name: ep for ep in metadata.entry_points(group="wan26")}
    assert points["wavespeed"].value == "wan26_wavespeed"
    assert points["wavespeed"].dist is not None and points["wavespeed"].dist.name == "wan26-wavespeed"
    endpoint = installed.get("wavespeed/r2v")
    assert isinstance(endpoint.protocol, wan26_wavespeed.WaveSpeedClientProtocol)  # type: ignore[attr-defined]
    assert "wavespeed" in installed.plugin_names()
    monkeypatch.setenv("WAN26_LOAD_PLUGINS", "wan26-wavespeed")  # by distribution name, like a built-in by its own
    assert list(Registry().providers()) == ["wavespeed/r2v"]


def test_it_is_listed_by_wan26_providers(installed: Registry, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers", "--json"], registry=installed) == 0
    described = {d["id"]: d for d in json.loads(capsys.readouterr().out)}
    assert described["wavespeed/r2v"]["native_model"] == "alibaba/wan-2.6/reference-to-video"
    assert described["wavespeed/r2v"]["references"]["video"]["max"] == 2
    assert {"fal/r2v-flash", "vtrix/r2v"} <= set(described)  # next to the built-ins, not instead of them


def test_its_contract_passes_wan26_contracts_check_and_appears_in_the_openapi_document(
    installed: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["contracts", "check", "--strict", "-c", "wavespeed/r2v"], registry=installed) == 0
    # the plugin keeps its seed recordings in its own repository, checked like wan26's own
    recordings = str(EXAMPLE / "recordings")
    alone = Registry(plugins=[wan26_wavespeed], entry_points=False)
    assert main(["contracts", "seed", "--check", "--out", recordings], registry=alone) == 0
    assert main(["contracts", "check", "--strict", "--recordings", recordings], registry=alone) == 0
    assert "wavespeed/r2v:" in (out := capsys.readouterr().out) and "no drift" in out
    paths = openapi_document(*surfaces(installed), server_url="http://127.0.0.1:8000")["paths"]
    assert SUBMIT in paths and "/api/v3/predictions/{request_id}/result" in paths


def test_wan26_mock_serve_serves_it_and_the_client_runs_a_job_on_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "WAN26_LOAD_PLUGINS"}
    command = [sys.executable, "-m", "wan26core", "mock", "serve", "--port", "0", "--seed", "3", "--time-scale", "10"]
    with subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env) as server:
        try:
            settings = _settings_line(server, "wavespeed", timeout=30)
            assert settings["WAVESPEED_API_KEY"] == "mock-key"
            with Client(
                "wavespeed/r2v",
                registry=Registry(),
                journal=Journal(tmp_path / "journal.sqlite3"),
                time_scale=200,
                environ=settings,
            ) as client:
                result = client.generate(REQUEST, output=tmp_path / "out.mp4", timeout=30)
            assert result.url.startswith(settings["WAN26_WAVESPEED_BASE_URL"] + "/__wan26__/files/")
            assert (tmp_path / "out.mp4").read_bytes()[4:8] == b"ftyp"
        finally:
            server.terminate()
            server.wait(timeout=30)


def _settings_line(server: subprocess.Popen[bytes], provider: str, timeout: float) -> dict[str, str]:
    """The ``  <provider>: NAME=value …`` line ``wan26 mock serve`` prints for ``provider`` (read unbuffered, so a
    server that never prints cannot hang the test)."""
    assert server.stderr is not None
    deadline = time.monotonic() + timeout
    text = ""
    with selectors.DefaultSelector() as selector:
        selector.register(server.stderr, selectors.EVENT_READ)
        while time.monotonic() < deadline and selector.select(timeout=max(0.0, deadline - time.monotonic())):
            chunk = os.read(server.stderr.fileno(), 65536)
            if not chunk:
                break
            text += chunk.decode()
            for line in text.split("\n")[:-1]:  # complete lines only
                if line.startswith("wan26 mock serving"):
                    assert provider in line, line
                if line.strip().startswith(f"{provider}:"):
                    return dict(item.split("=", 1) for item in line.split(":", 1)[1].split())
    raise AssertionError(f"`wan26 mock serve` printed no settings for {provider}: {text!r}")
