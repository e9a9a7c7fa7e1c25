"""The canary key (``mockkit.CANARY``, the key of every reliability suite) goes everywhere a key goes and is looked for
everywhere it must not be: log records at DEBUG, the CLI's output, journal files, reprs, exception messages, recordings
written by ``wan26 contracts record``, and the mock's journal and job views. The other suites check it too, under
faults (``test_fault_survival``), kills (``test_crash_resume``) and hostile requests (``test_hostile_mock``); this one
walks the paths a user takes: ``wan26 generate``, ``status``, ``jobs list/show``, a refused key, a webhook URL with a
token, and a recording.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from relykit import CANARY, PROVIDERS

from support import CONTRACTS, builtin_registry
from wan26_mock.serve import MockServer, running_server
from wan26core import Client
from wan26core._errors import AuthenticationError
from wan26core.cli import main

REF = "cat=https://example.com/cat.mp4"
#: a second secret: the token of a webhook URL (fal takes the URL in the submit's query). httpx logs request URLs at
#: INFO, so it is looked for in wan26's and the mock's stores only, not in httpx's log records
HOOK_TOKEN = "hook-canary-456"


@pytest.fixture(scope="module")
def mock() -> Iterator[MockServer]:
    with running_server(builtin_registry(), seed=29, time_scale=20) as server:
        yield server


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WAN26_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    for contract in CONTRACTS.values():
        for name in contract.transport["auth"]["env"]:
            monkeypatch.setenv(name, CANARY)
    return tmp_path


def leaks(folder: Path, *secrets: str) -> list[str]:
    """Files under ``folder`` holding the canary (or ``secrets``), in any form a file keeps text."""
    wanted = [s.encode() for s in (CANARY, *secrets)]
    return [str(p) for p in folder.rglob("*") if p.is_file() and any(w in p.read_bytes() for w in wanted)]


def test_the_command_line_paths_keep_the_key_to_themselves(
    mock: MockServer, home: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    hook = f"{mock.base_url}/hooks/done?token={HOOK_TOKEN}"  # loopback: the mock delivers to itself (a 404)

    def generate(provider: str) -> int:
        journal = str(home / f"{provider.replace('/', '-')}.sqlite3")
        webhook = ["--webhook-url", hook] if provider.startswith("fal/") else []
        out = f"{provider.replace('/', '-')}.mp4"
        argv = [
            "generate",
            "-p",
            provider,
            "--base-url",
            mock.base_url,
            "--ref",
            REF,
            "@cat waves",
            "-o",
            out,
            "--journal",
            journal,
        ]
        return main([*argv, "--label", "canary", *webhook])

    with ThreadPoolExecutor(max_workers=len(PROVIDERS)) as pool:  # the polling providers take a real second or two
        assert list(pool.map(generate, PROVIDERS)) == [0] * len(PROVIDERS)
    first = capsys.readouterr()
    printed = [first.out + first.err]
    for provider in PROVIDERS:
        journal = str(home / f"{provider.replace('/', '-')}.sqlite3")
        job = next(line.split()[0] for line in _run(capsys, ["jobs", "list", "--journal", journal]).splitlines())
        printed += [
            _run(capsys, ["jobs", "show", job, "--journal", journal]),
            _run(capsys, ["status", job, "--journal", journal, "--json"]),
            _run(capsys, ["jobs", "resume", "--journal", journal]),
        ]
        assert (home / f"{provider.replace('/', '-')}.mp4").read_bytes()[4:8] == b"ftyp"
    assert all(CANARY not in str(text) and HOOK_TOKEN not in str(text) for text in printed)
    assert CANARY not in caplog.text
    assert leaks(home, HOOK_TOKEN) == []
    with httpx.Client(base_url=mock.admin_url) as admin:
        for view in ("/journal", "/jobs"):
            text = admin.get(view).text
            assert CANARY not in text and HOOK_TOKEN not in text, view
        assert CANARY not in admin.get("/webhooks").text  # the deliveries view shows where each webhook goes


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    capsys.readouterr()
    assert main(argv) == 0
    captured = capsys.readouterr()
    return captured.out + captured.err


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_refused_key_is_named_by_its_variable_never_shown(mock: MockServer, provider: str, tmp_path: Path) -> None:
    http = httpx.Client(headers={"x-wan26-mock-scenario": "unauthorized"})  # the mock answers the provider's 401
    with Client(provider, api_key=CANARY, base_url=mock.base_url, journal=tmp_path / "j.sqlite3", http=http) as client:
        request = {"prompt": "@cat waves", "references": [{"name": "cat", "source": "https://example.com/cat.mp4"}]}
        with pytest.raises(AuthenticationError) as refused:
            client.submit(request)
        texts = [str(refused.value), repr(refused.value), repr(client), repr(client.endpoint()), str(refused.value.__dict__)]
    http.close()
    assert refused.value.native_code and all(CANARY not in text for text in texts)
    assert leaks(tmp_path) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_recording_made_with_the_key_does_not_hold_it(
    mock: MockServer, home: Path, provider: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    out = home / "recordings"
    argv = ["contracts", "record", "-p", provider, "--base-url", mock.base_url, "--out", str(out), "--yes"]
    assert main(argv, registry=builtin_registry()) == 0, capsys.readouterr()
    written = list(out.rglob("*.json"))
    assert written and "authorization" in written[0].read_text().lower()
    assert leaks(out) == [] and CANARY not in caplog.text
    captured = capsys.readouterr()
    assert CANARY not in captured.out + captured.err
