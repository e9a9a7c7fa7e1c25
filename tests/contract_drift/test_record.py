"""``wan26 contracts record``: against the live mock standing in for the provider (loopback only), with a canary key.

What must hold: the recording is written, satisfies the recording schema, holds neither the key nor a signed-URL
token and passes ``contracts check``; nothing is sent before the plan and its cost were shown and confirmed
(``--yes``, or "y" on a terminal); a missing key is a clear usage error.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from driftkit import check_dir

from support import CONTRACTS, EXPECTED_IDS, PROVIDERS
from wan26_mock.serve import MockServer, running_server
from wan26core import Registry
from wan26core._errors import Wan26Error
from wan26core.cli import main
from wan26core.drift._capture import scrub_exchange
from wan26core.drift._record import plan_recording
from wan26core.drift._recordings import recording_problems
from wan26core.drift._requests import refusal_for

CANARY = "wan26-canary-7Qx9-do-not-leak"
KEY_ENV = "WAN26_TEST_RECORD_KEY"


@pytest.fixture(scope="module")
def mock() -> Iterator[MockServer]:
    from support import builtin_registry

    with running_server(builtin_registry(), seed=5) as server:
        yield server


@pytest.fixture
def fresh(mock: MockServer, monkeypatch: pytest.MonkeyPatch) -> MockServer:
    """The mock with an empty journal, the canary in the environment and no provider key variables set."""
    mock.engine.journal.clear()
    monkeypatch.setenv(KEY_ENV, CANARY)
    for contract in CONTRACTS.values():
        for name in contract.transport["auth"]["env"]:
            monkeypatch.delenv(name, raising=False)
    for name in ("FAL_QUEUE_RUN_HOST", "DASHSCOPE_HTTP_BASE_URL", "WAN26_FAL_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return mock


class _Terminal(io.StringIO):
    """Standard input that says it is a terminal, with the user's answer already typed."""

    def isatty(self) -> bool:
        return True


def record(
    capsys: pytest.CaptureFixture[str], registry: Registry, mock: MockServer, out: Path, provider: str, *extra: str
) -> tuple[int, str, str]:
    argv = ["contracts", "record", "-p", provider, "--base-url", mock.base_url, "--out", str(out), *extra]
    status = main(argv, registry=registry)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def written(out: Path, provider: str) -> tuple[Path, dict[str, Any], str]:
    (path,) = sorted((out / provider).glob("*.json"))
    text = path.read_text(encoding="utf-8")
    return path, json.loads(text), text


@pytest.mark.parametrize(
    ("provider", "key_args", "actions"),
    [
        ("fal/r2v-flash", ("--key-env", KEY_ENV), ["submit", "status", "submit", "status", "cancel", "status"]),
        ("dashscope/r2v", (), ["submit", "status", "submit", "status", "cancel", "status"]),
        ("aimlapi/r2v", (), ["submit", "status"]),  # no cancel: the paid submit is left out by default
    ],
)
def test_a_recording_is_written_scrubbed_and_checks_clean(
    capsys: pytest.CaptureFixture[str],
    registry: Registry,
    fresh: MockServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    provider: str,
    key_args: tuple[str, ...],
    actions: list[str],
) -> None:
    if not key_args:  # the provider's own documented variable
        monkeypatch.setenv(CONTRACTS[provider].transport["auth"]["env"][0], CANARY)
    status, out, err = record(capsys, registry, fresh, tmp_path, provider, "--yes", *key_args)
    assert status == 0, err
    path, data, text = written(tmp_path, provider)
    assert f"wrote {path} ({len(actions)} exchanges)" in out and "next: wan26 contracts check --recordings" in out
    assert recording_problems(data) == []
    assert CANARY not in text and CANARY not in out + err
    scheme = CONTRACTS[provider].transport["auth"]["scheme"]
    assert all(e["request"]["headers"]["authorization"] == f"{scheme} REDACTED" for e in data["exchanges"])
    assert [e["action"] for e in data["exchanges"]] == actions
    assert {e["origin"] for e in data["exchanges"]} == {"live"}
    assert len(fresh.engine.journal) == len(actions)  # every request the mock saw is in the recording
    refusal = data["exchanges"][0]
    assert refusal["note"].startswith("refusal") and refusal["response"]["status"] >= 400
    report = check_dir(tmp_path, provider, strict=True)
    assert report.ok, report.render()
    assert report.contracts[provider].origins["live"] == len(actions)


def test_the_plan_and_its_cost_come_before_anything_is_sent(
    capsys: pytest.CaptureFixture[str], registry: Registry, fresh: MockServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # an answer, but not from a terminal: no confirmation
    status, out, err = record(capsys, registry, fresh, tmp_path, "fal/r2v-flash", "--key-env", KEY_ENV)
    assert status == 2 and out == ""
    assert "expected cost: up to $0.1250 (1 job(s) x $0.1250 (5 s x $0.025/s" in err
    assert "may still be charged" in err and "pass --yes" in err and "nothing was sent" in err
    assert len(fresh.engine.journal) == 0 and not tmp_path.joinpath("fal").exists()


@pytest.mark.parametrize(("answer", "expected_status", "sent"), [("n\n", 1, False), ("\n", 1, False), ("yes\n", 0, True)])
def test_the_answer_on_a_terminal_decides(
    capsys: pytest.CaptureFixture[str],
    registry: Registry,
    fresh: MockServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    expected_status: int,
    sent: bool,
) -> None:
    monkeypatch.setattr("sys.stdin", _Terminal(answer))
    status, _, err = record(capsys, registry, fresh, tmp_path, "fal/r2v-flash", "--key-env", KEY_ENV, "--scenario", "unknown-job")
    assert status == expected_status
    assert "Send these requests with your key? [y/N]" in err
    assert (len(fresh.engine.journal) > 0) is sent and tmp_path.joinpath("fal").exists() is sent
    if not sent:
        assert "aborted: nothing was sent" in err


def test_without_a_key_it_refuses_with_exit_2(
    capsys: pytest.CaptureFixture[str], registry: Registry, fresh: MockServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, _, err = record(capsys, registry, fresh, tmp_path, "fal/r2v-flash", "--yes")
    assert status == 2 and "no API key for fal/r2v-flash: set FAL_KEY or pass --key-env VAR" in err
    monkeypatch.delenv(KEY_ENV)
    status, _, err = record(capsys, registry, fresh, tmp_path, "fal/r2v-flash", "--yes", "--key-env", KEY_ENV)
    assert status == 2 and f"--key-env {KEY_ENV}: that environment variable is not set or empty" in err
    assert len(fresh.engine.journal) == 0 and not tmp_path.joinpath("fal").exists()


def test_the_full_run_follows_one_job_to_its_end(
    capsys: pytest.CaptureFixture[str], registry: Registry, fresh: MockServer, tmp_path: Path
) -> None:
    args = ("--yes", "--key-env", KEY_ENV, "--full", "--scenario", "full", "--poll-interval", "0.05", "--name", "full-run")
    status, _, err = record(capsys, registry, fresh, tmp_path, "fal/r2v-flash", *args)
    assert status == 0, err
    path, data, text = written(tmp_path, "fal/r2v-flash")
    actions = [e["action"] for e in data["exchanges"]]
    assert path.name == "full-run.json" and actions[0] == "submit" and actions.count("status") >= 2
    assert actions[-2:] == ["result", "stream"]
    assert data["exchanges"][-1]["response"]["body"]["status"] == "COMPLETED"  # an SSE event, parsed
    assert CANARY not in text and recording_problems(data) == []
    assert check_dir(tmp_path, "fal/r2v-flash", strict=True).ok
    status, _, err = record(capsys, registry, fresh, tmp_path, "fal/r2v-flash", *args)
    assert status == 2 and "full-run.json exists: recordings are never overwritten" in err
    assert path.read_text(encoding="utf-8") == text


def test_scenario_rules_are_usage_errors(
    capsys: pytest.CaptureFixture[str], registry: Registry, fresh: MockServer, tmp_path: Path
) -> None:
    confirmed = ("--yes", "--key-env", KEY_ENV)
    status, _, err = record(capsys, registry, fresh, tmp_path, "fal/r2v-flash", *confirmed, "--scenario", "full")
    assert status == 2 and "add --full" in err
    status, _, err = record(capsys, registry, fresh, tmp_path, "vtrix/r2v", *confirmed, "--scenario", "submit")
    assert status == 2 and "vtrix/r2v's examples show no sample media the provider can fetch: pass --ref URL" in err
    status, _, err = record(capsys, registry, fresh, tmp_path, "fal/r2v-flash", *confirmed, "--name", "seed-errors")
    assert status == 2 and "--name 'seed-errors'" in err
    status, _, err = record(capsys, registry, fresh, tmp_path, "fal/r2v-flash", *confirmed, "--image", "https://x.test/a.png")
    assert status == 2 and "use --ref URL instead of --image" in err
    assert len(fresh.engine.journal) == 0


def test_a_refused_key_stops_before_the_paid_scenarios(
    capsys: pytest.CaptureFixture[str], registry: Registry, fresh: MockServer, tmp_path: Path
) -> None:
    scenario = {"scenario": "unauthorized", "count": 5, "provider": "fal/r2v-flash"}
    httpx.post(f"{fresh.admin_url}/scenarios", json=scenario, timeout=10).raise_for_status()
    try:
        status, _, err = record(capsys, registry, fresh, tmp_path, "fal/r2v-flash", "--yes", "--key-env", KEY_ENV)
    finally:
        fresh.engine.faults.clear()
    assert status == 0
    assert "unknown-job: not run, the provider refused the key (HTTP 401/403)" in err
    assert "submit: not run, the provider refused the key" in err and "jobs submitted" not in err
    _, data, _ = written(tmp_path, "fal/r2v-flash")
    assert [(e["note"], e["response"]["status"]) for e in data["exchanges"]] == [("refusal: a request without its prompt", 401)]
    assert len(fresh.engine.journal) == 1


def test_scrubbing_removes_the_key_and_every_signed_url_token() -> None:
    oss = "https://dashscope-result.oss-cn-beijing.aliyuncs.com/a.mp4?Expires=1767805107&OSSAccessKeyId=LTAI5t&Signature=WY0q%2F"
    exchange = {
        "action": "result",
        "request": {
            "method": "GET",
            "path": "/api/v1/tasks/abc",
            "query": {},
            "headers": {"Authorization": f"Bearer {CANARY}", "X-Api-Key": CANARY, "User-Agent": "x"},
        },
        "response": {
            "status": 200,
            "headers": {"Location": "https://v3.fal.media/files/x.mp4?token=abc123&fal_jwt=eyJhbGciOi", "Set-Cookie": "s=1"},
            "body": {
                "output": {"video_url": oss, "note": f"see {oss} or https://cdn.example/v.mp4?X-Amz-Credential=AKIA&sig=zz"},
                "api_key": "sk-live-1",
                "echo": f"key={CANARY}",
            },
        },
        "source": "test",
        "recorded_at": "2026-12-01T00:00:00Z",
        "origin": "live",
    }
    clean = scrub_exchange(exchange, CANARY)
    text = json.dumps(clean)
    for secret in (CANARY, "1767805107", "LTAI5t", "WY0q", "abc123", "eyJhbGciOi", "AKIA", "zz", "sk-live-1", "s=1"):
        assert secret not in text, secret
    assert clean["request"]["headers"]["authorization"] == "Bearer REDACTED"
    video = clean["response"]["body"]["output"]["video_url"]
    assert (
        video
        == "https://dashscope-result.oss-cn-beijing.aliyuncs.com/a.mp4?Expires=REDACTED&OSSAccessKeyId=REDACTED&Signature=REDACTED"
    )
    assert clean["response"]["headers"]["location"].endswith("x.mp4?token=REDACTED&fal_jwt=REDACTED")
    assert re.search(r"\bhttps://cdn\.example/v\.mp4\?X-Amz-Credential=REDACTED&sig=REDACTED\b", text)


@pytest.mark.parametrize("provider", EXPECTED_IDS)
def test_every_contract_has_a_documented_free_refusal(provider: str) -> None:
    plan = plan_recording(PROVIDERS[provider], scenarios=["refusal"], base_url="http://127.0.0.1:9")
    refusal = refusal_for(plan.contract, plan.wire.body, plan.request)
    assert refusal is not None and plan.refusal == refusal
    entry = plan.contract.error(refusal.code)
    assert entry is not None and entry["kind"] in ("validation", "unsupported_option")
    assert entry["http_status"] == refusal.http_status
    assert refusal.body != plan.wire.body and plan.paid_jobs == 0


def test_a_new_default_name_never_collides(tmp_path: Path) -> None:
    now = datetime(2026, 12, 1, 10, 0, 0, tzinfo=timezone.utc)
    folder = tmp_path / "fal" / "r2v-flash"
    folder.mkdir(parents=True)
    (folder / "live-20261201T100000Z.json").write_text("{}", encoding="utf-8")
    plan = plan_recording(PROVIDERS["fal/r2v-flash"], out=tmp_path, now=now)
    assert plan.path == folder / "live-20261201T100000Z-2.json"
    proxied = plan_recording(PROVIDERS["fal/r2v-flash"], out=tmp_path, base_url="https://me:pw-secret@proxy.test:8443/fal")
    assert "pw-secret" not in proxied.describe(
        "FAL_KEY"
    ) and "at https://proxy.test:8443/fal (key from FAL_KEY)" in proxied.describe("FAL_KEY")
    with pytest.raises(Wan26Error, match="never overwritten"):
        plan_recording(PROVIDERS["fal/r2v-flash"], out=tmp_path, name="live-20261201T100000Z")


def test_a_refusal_is_never_a_request_the_provider_would_accept_and_bill() -> None:
    # DashScope's image-to-video takes a request without a prompt: dropping it would start a paid job
    plan = plan_recording(PROVIDERS["dashscope/i2v"], scenarios=["refusal"], base_url="http://127.0.0.1:9")
    assert plan.refusal is not None
    assert plan.refusal.what == "a request without its first frame"
    assert plan.refusal.body["input"].get("prompt") == plan.wire.body["input"].get("prompt")
    assert "img_url" not in plan.refusal.body["input"]
