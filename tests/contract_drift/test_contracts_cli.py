"""``wan26 contracts check|seed|openapi``: output and exit statuses (0 ok, 1 drift, 2 usage)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from driftkit import RECORDINGS, exchange, write

from support import EXPECTED_IDS
from wan26core import Registry
from wan26core.cli import main


def run(capsys: pytest.CaptureFixture[str], registry: Registry, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv), registry=registry)
    out, err = capsys.readouterr()
    return status, out, err


def test_check_passes_on_the_shipped_recordings(capsys: pytest.CaptureFixture[str], registry: Registry) -> None:
    status, out, _ = run(capsys, registry, "contracts", "check", "--strict")
    assert status == 0
    assert out.splitlines()[-1].startswith(f"OK: {len(EXPECTED_IDS)} contracts")
    assert "fal/r2v-flash:" in out and "no drift" in out


def test_check_json_and_verbose(capsys: pytest.CaptureFixture[str], registry: Registry) -> None:
    status, out, _ = run(capsys, registry, "contracts", "check", "--json", "-c", "dashscope/r2v")
    report = json.loads(out)
    assert status == 0 and report["ok"] is True and list(report["contracts"]) == ["dashscope/r2v"]
    words = {f["message"] for f in report["contracts"]["dashscope/r2v"]["findings"]}
    assert "no exchange shows 'SUSPENDED'" in words
    status, out, _ = run(capsys, registry, "contracts", "check", "-v", "-c", "dashscope/r2v")
    assert status == 0 and "status_unobserved, info" in out


def test_breaking_drift_exits_1(capsys: pytest.CaptureFixture[str], registry: Registry, tmp_path: Path) -> None:
    item = exchange("aimlapi/r2v", "seed-examples", "status while generating")
    item["response"]["body"]["status"] = "processing"
    write(tmp_path, "aimlapi/r2v", [item])
    status, out, _ = run(capsys, registry, "contracts", "check", "--recordings", str(tmp_path))
    assert status == 1
    assert "+ $.status: status 'processing' is not in statuses.map" in out
    assert "[status_added, breaking] — aimlapi/r2v/mutated.json#0" in out
    assert out.splitlines()[-1].startswith("DRIFT:")


def test_a_warning_fails_only_with_strict(capsys: pytest.CaptureFixture[str], registry: Registry, tmp_path: Path) -> None:
    item = exchange("fal/r2v", "seed-examples", "seed000 output example")
    item["response"]["body"]["timings"] = {"inference": 12.5}
    write(tmp_path, "fal/r2v", [item])
    status, out, _ = run(capsys, registry, "contracts", "check", "--recordings", str(tmp_path), "-c", "fal/r2v")
    assert status == 0 and "[field_added, warning]" in out
    status, _, _ = run(capsys, registry, "contracts", "check", "--recordings", str(tmp_path), "-c", "fal/r2v", "--strict")
    assert status == 1


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], registry: Registry, tmp_path: Path) -> None:
    status, _, err = run(capsys, registry, "contracts", "check", "--recordings", str(tmp_path / "nowhere"))
    assert status == 2 and "does not exist" in err
    status, _, err = run(capsys, registry, "contracts", "check", "-c", "acme/v9")
    assert status == 2 and "unknown contract acme/v9" in err
    status, _, _ = run(capsys, registry, "contracts")
    assert status == 2


def test_seed_writes_then_checks(capsys: pytest.CaptureFixture[str], registry: Registry, tmp_path: Path) -> None:
    status, out, _ = run(capsys, registry, "contracts", "seed", "--check", "--out", str(RECORDINGS))
    assert status == 0 and out.strip() == "0 seed recording(s) stale or missing"
    status, out, _ = run(capsys, registry, "contracts", "seed", "--check", "--out", str(tmp_path))
    assert status == 1 and f"{2 * len(EXPECTED_IDS)} seed recording(s) stale or missing" in out
    status, out, _ = run(capsys, registry, "contracts", "seed", "--out", str(tmp_path))
    assert status == 0 and f"{2 * len(EXPECTED_IDS)} seed recording(s) written" in out
    assert sorted(p.name for p in (tmp_path / "vtrix" / "r2v").iterdir()) == ["seed-errors.json", "seed-examples.json"]
    status, _, _ = run(capsys, registry, "contracts", "check", "--strict", "--recordings", str(tmp_path))
    assert status == 0


def test_openapi_to_a_file(capsys: pytest.CaptureFixture[str], registry: Registry, tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"
    status, out, _ = run(capsys, registry, "contracts", "openapi", "-o", str(target), "--server", "http://mock.test")
    document = json.loads(target.read_text(encoding="utf-8"))
    assert status == 0 and out == ""
    assert document["openapi"] == "3.1.0" and document["servers"] == [{"url": "http://mock.test"}]
