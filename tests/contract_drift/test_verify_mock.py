"""``wan26 contracts verify-mock``: the mock passes every contract's scenarios, and a drifting dialect is caught."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from driftkit import check_dir

from support import EXPECTED_IDS
from wan26_fal import FalDialect
from wan26core import ContractProvider, Provider, Registry, builtin_contract, hookimpl
from wan26core._dialect import JobSnapshot, MockRequest, MockResponse
from wan26core.cli import main
from wan26core.drift._verify import MockUnavailable, VerifyRun, verify_mock


@pytest.fixture(scope="module")
def run() -> VerifyRun:
    from support import builtin_registry

    return verify_mock(builtin_registry())


def test_the_mock_matches_every_contract(run: VerifyRun) -> None:
    report = run.report
    assert sorted(report.contracts) == EXPECTED_IDS
    assert report.count("breaking") == 0, report.render()
    assert report.ok


@pytest.mark.parametrize("provider_id", EXPECTED_IDS)
def test_every_scenario_ran(run: VerifyRun, provider_id: str) -> None:
    exchanges = run.exchanges[provider_id]
    notes = {e["note"] for e in exchanges}
    assert {"lifecycle", "prompt over the limit", "missing key", "unknown job"} <= notes
    actions = [e["action"] for e in exchanges if e["note"] == "lifecycle"]
    assert actions[0] == "submit" and actions.count("status") >= 2 and "result" in actions
    contract = builtin_contract(provider_id)
    documented = [e for e in contract.examples("request") if "breaks" not in e]
    assert ("documented example" in notes) == bool(documented)
    if "cancel" in contract.transport["routes"]:
        assert {"cancel", "cancel after completion"} <= notes
    if "stream" in contract.transport["routes"]:
        assert any(e["action"] == "stream" for e in exchanges)
    missing_key = next(e for e in exchanges if e["note"] == "missing key")
    assert missing_key["response"]["status"] == 401 and "authorization" not in missing_key["request"]["headers"]


def test_the_mock_recordings_hold_no_key_and_check_clean(run: VerifyRun, tmp_path: Path) -> None:
    written = run.save(tmp_path)
    assert len(written) == len(EXPECTED_IDS)  # one recording per endpoint
    text = "".join(p.read_text(encoding="utf-8") for p in written)
    assert "wan26-verify-key" not in text and "Key REDACTED" in text and "Bearer REDACTED" in text
    report = check_dir(tmp_path)
    assert report.count("breaking") == 0, report.render()
    assert {o for r in report.contracts.values() for o in r.origins} == {"mock", "seed"}


class _DriftingFal(FalDialect):
    """The fal dialect with three bugs: status without logs, result without its header, cancel with 200."""

    def status(self, request: MockRequest, job: JobSnapshot) -> MockResponse:
        answer = super().status(request, job)
        body = {k: v for k, v in answer.body.items() if k != "logs"}
        return MockResponse(answer.status, body, answer.headers)

    def result(self, request: MockRequest, job: JobSnapshot) -> MockResponse:
        answer = super().result(request, job)
        return MockResponse(answer.status, answer.body, {})

    def cancel(self, request: MockRequest, job: JobSnapshot, accepted: bool) -> MockResponse:
        answer = super().cancel(request, job, accepted)
        return MockResponse(200 if accepted else answer.status, answer.body, answer.headers)


class _Plugin:
    @hookimpl
    def wan26_register_providers(self, register: Callable[[Provider], None]) -> None:
        contract = builtin_contract("fal/r2v-flash")
        register(ContractProvider(contract, dialect=_DriftingFal([contract])))


def test_a_drifting_dialect_is_caught() -> None:
    report = verify_mock(Registry(plugins=[_Plugin()], entry_points=False)).report
    found = {(f.drift, f.kind, f.path) for f in report.findings()}
    assert ("field_removed", "status", "$.logs") in found
    assert ("header_removed", "result", "x-fal-request-id") in found
    assert ("http_status_added", "cancel", "") in found
    assert any(d == "scenario_failed" and k == "cancel" for d, k, _ in found)
    assert not report.ok


def test_the_cli_runs_it(capsys: pytest.CaptureFixture[str], registry: Registry) -> None:
    status = main(["contracts", "verify-mock", "--json", "-c", "vtrix/r2v"], registry=registry)
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert status == 0 and report["ok"] and list(report["contracts"]) == ["vtrix/r2v"]


def test_without_the_mock_extra_it_says_what_to_install(
    capsys: pytest.CaptureFixture[str], registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "wan26_mock", None)
    with pytest.raises(MockUnavailable, match=r"pip install 'wan26\[mock\]'"):
        verify_mock(registry)
    assert main(["contracts", "verify-mock"], registry=registry) == 2
    assert "wan26[mock]" in capsys.readouterr().err
