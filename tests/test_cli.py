"""The wan26 command line: providers, validate and render, with their exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from support import EXPECTED_IDS
from wan26core import Registry
from wan26core.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "requests"


def run(capsys: pytest.CaptureFixture[str], registry: Registry, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv), registry=registry)
    out, err = capsys.readouterr()
    return status, out, err


def test_providers_lists_every_endpoint_with_limits(capsys: pytest.CaptureFixture[str], registry: Registry) -> None:
    status, out, _ = run(capsys, registry, "providers")
    assert status == 0
    for provider_id in EXPECTED_IDS:
        assert provider_id in out
    assert "videos_first" in out and "Character{n}" in out


def test_providers_json(capsys: pytest.CaptureFixture[str], registry: Registry) -> None:
    status, out, _ = run(capsys, registry, "providers", "--json")
    described = {d["id"]: d for d in json.loads(out)}
    assert status == 0 and sorted(described) == EXPECTED_IDS
    assert described["fal/r2v-flash"]["references"]["video"]["max"] == 3
    assert described["fal/r2v-flash"]["options"]["watermark"] is False


def test_validate_rejects_four_videos_on_fal_flash(capsys: pytest.CaptureFixture[str], registry: Registry) -> None:
    status, out, _ = run(capsys, registry, "validate", str(EXAMPLES / "four-videos.json"), "--provider", "fal/r2v-flash")
    assert status == 1
    assert "references: 4 video references; at most 3 allowed" in out
    assert "limit 3" in out and "HTTP 422 too_long" in out


def test_validate_json_output(capsys: pytest.CaptureFixture[str], registry: Registry) -> None:
    status, out, _ = run(capsys, registry, "validate", str(EXAMPLES / "four-videos.json"), "-p", "vtrix/r2v", "--json")
    report = json.loads(out)
    assert status == 1 and report["valid"] is False
    assert {v["native"]["code"] for v in report["violations"] if v["native"]} == {"001028003"}


def test_validate_accepts_a_valid_request(capsys: pytest.CaptureFixture[str], registry: Registry) -> None:
    status, out, _ = run(capsys, registry, "validate", str(EXAMPLES / "duet.json"), "--provider", "fal/r2v-flash")
    assert status == 0 and "valid" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["validate", "nope.json", "--provider", "fal/r2v"],
        ["validate", str(EXAMPLES / "duet.json"), "--provider", "fal/nothing"],
        ["validate", str(EXAMPLES / "duet.json")],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2_without_a_traceback(capsys: pytest.CaptureFixture[str], registry: Registry, argv: list[str]) -> None:
    status, _, err = run(capsys, registry, *argv)
    assert status == 2
    assert "Traceback" not in err and err.strip()


def test_malformed_json_is_a_usage_error(capsys: pytest.CaptureFixture[str], registry: Registry, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    status, _, err = run(capsys, registry, "validate", str(bad), "--provider", "fal/r2v")
    assert status == 2 and "not valid JSON" in err


def test_render_prints_the_wire_request(capsys: pytest.CaptureFixture[str], registry: Registry) -> None:
    status, out, err = run(capsys, registry, "render", str(EXAMPLES / "duet.json"), "--provider", "vtrix/r2v")
    wire = json.loads(out)
    assert status == 0
    assert wire["body"]["model"] == "wan26_r2v"
    assert wire["body"]["parameters"]["size"] == "1280*720"
    assert wire["body"]["input"]["prompt"].startswith("character1 waves at character2")
    assert "estimated cost" in err


def test_render_refuses_an_invalid_request(capsys: pytest.CaptureFixture[str], registry: Registry) -> None:
    status, out, err = run(capsys, registry, "render", str(EXAMPLES / "four-videos.json"), "--provider", "fal/r2v-flash")
    assert status == 1 and out == "" and "references.video.max" in err


def test_the_console_script_is_installed() -> None:
    script = Path(sysconfig.get_path("scripts")) / "wan26"
    done = subprocess.run([str(script), "providers"], capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert all(provider_id in done.stdout for provider_id in EXPECTED_IDS)
    done = subprocess.run(
        [sys.executable, "-m", "wan26core", "providers", "--json"], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0 and len(json.loads(done.stdout)) >= len(EXPECTED_IDS)
