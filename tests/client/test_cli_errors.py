"""The CLI's one error path (exit statuses, one line, no traceback), Ctrl-C, and jobs of the embedded mock."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from clikit import GENERATE, URL, run

from support import builtin_registry
from wan26_mock.serve import running_server
from wan26core import Client
from wan26core._errors import Wan26Error
from wan26core._journal import Journal
from wan26core.cli import main

pytestmark = pytest.mark.usefixtures("home")  # every test: no key, a home of its own

CAT = ["--ref", f"cat={URL}", "@cat waves", "-o", "v.mp4"]


# --- the README's tour: every command works on the job the first one made -----------------------------------------


def test_the_readme_tour_works_on_the_job_it_just_made(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, *GENERATE, "-o", "out.mp4")
    assert code == 0, err
    code, listing, _ = run(capsys, "jobs", "list")
    assert code == 0 and "fal/r2v-flash (mock)" in listing and "succeeded" in listing
    short = listing.split()[0]
    code, out, err = run(capsys, "status", short)
    assert code == 0 and out.startswith("succeeded") and "embedded mock" in out, err
    code, out, err = run(capsys, "result", short)
    assert code == 0 and out.strip().endswith(".mp4"), err
    code, out, err = run(capsys, "result", short, "-o", "again.mp4")
    assert code == 0 and (tmp_path / "again.mp4").read_bytes() == (tmp_path / "out.mp4").read_bytes(), err
    code, out, err = run(capsys, "cancel", short)
    assert code == 1 and "too late to cancel" in out
    code, out, err = run(capsys, "jobs", "resume")
    assert code == 0 and "nothing to resume" in out
    code, out, _ = run(capsys, "jobs", "list", "--json")
    assert [j["mock"] for j in json.loads(out)] == [True]


def test_mock_and_real_jobs_are_never_confused(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, *GENERATE, "-o", "out.mp4")[0] == 0
    (mock_job,) = Journal(home / "journal.sqlite3").list()
    with (
        Client(journal=home / "journal.sqlite3", registry=builtin_registry()) as real,
        pytest.raises(Wan26Error, match="embedded mock"),
    ):
        real.job(mock_job.id)  # a real client never sends a mock job's id to the provider
    with running_server(builtin_registry(), seed=3) as mock:  # a "real" job (the provider is a mock on a socket here)
        with Client("fal/r2v-flash", api_key="k", base_url=mock.base_url, journal=home / "journal.sqlite3", stream=False) as c:
            paid = c.submit({"prompt": "@cat waves", "references": [{"name": "cat", "source": URL}]})
        code, _, err = run(capsys, "status", paid.id[:8])  # no FAL_KEY: a real job is not quietly followed on a mock
    assert code == 2 and "FAL_KEY" in err and "Traceback" not in err
    with (
        Client(journal=home / "journal.sqlite3", registry=builtin_registry(), mock=True) as fake,
        pytest.raises(Wan26Error, match="real, paid job"),
    ):
        fake.job(paid.id)


# --- wording ------------------------------------------------------------------------------------------------------


def test_result_of_a_queued_job_says_it_is_still_queued(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_server(builtin_registry(), seed=3) as mock:
        scenario = {"scenario": "stuck", "count": 1, "provider": "dashscope/r2v"}  # queued for ever
        httpx.post(f"{mock.base_url}/__wan26__/scenarios", json=scenario).raise_for_status()
        with Client("dashscope/r2v", api_key="k", base_url=mock.base_url, journal=home / "journal.sqlite3") as c:
            job = c.submit({"prompt": "@cat waves", "references": [{"name": "cat", "source": URL}]})
        monkeypatch.setenv("DASHSCOPE_API_KEY", "k")
        code, _, err = run(capsys, "result", job.id[:8])
    assert code == 1 and "still queued" in err and f"wan26 status {job.id[:8]}" in err and "no video URL" not in err


def test_jobs_list_unfinished_says_when_every_job_has_finished(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "jobs", "list", "--unfinished")[1] == "no jobs in the journal\n"
    assert run(capsys, *GENERATE, "-o", "out.mp4")[0] == 0
    out = run(capsys, "jobs", "list", "--unfinished")[1]
    assert "no unfinished jobs" in out and "no jobs in the journal" not in out


# --- exit statuses, one line, no traceback --------------------------------------------------------------------------


def test_exit_statuses(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run(capsys, "providers")[0] == 0
    code, _, err = run(capsys, "status", "nosuchjob")
    assert code == 2 and err.startswith("wan26: error: no journaled job") and err.count("\n") == 1
    code, _, err = run(capsys, "validate", "missing.json", "-p", "fal/r2v-flash")
    assert code == 2 and err.startswith("wan26: error: cannot read request file missing.json")
    code, _, err = run(capsys, "validate", "missing.json", "-p", "nope/nope")
    assert code == 2 and "nope/nope" in err
    code, _, err = run(capsys, *GENERATE, "--watermark")
    assert code == 1 and "watermark" in err
    code, _, err = run(capsys, *GENERATE, "-o", "slow.mp4", "--timeout", "0.001")
    assert code == 3 and "wan26 jobs resume" in err and "Traceback" not in err
    assert run(capsys, "bogus-command")[0] == 2


def test_debug_shows_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(Wan26Error):
        main(["--debug", "status", "nosuchjob"])
    with pytest.raises(Wan26Error):
        main(["status", "nosuchjob", "--debug"])


@pytest.mark.parametrize("damage", ["not-a-database", "bad-utf8"])
def test_a_damaged_journal_is_named_with_how_to_move_it_aside(
    damage: str, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = home / "journal.sqlite3"
    if damage == "not-a-database":
        home.mkdir()
        path.write_bytes(b"this is not a database" * 100)
    else:
        assert run(capsys, *GENERATE, "-o", "out.mp4")[0] == 0
        with sqlite3.connect(path) as db:
            db.execute("UPDATE jobs SET label = CAST(X'FFFE' AS TEXT)")
    code, _, err = run(capsys, "jobs", "list")
    assert code == 2 and "Traceback" not in err
    assert f"wan26: error: the job journal {path} cannot be read" in err and f"mv '{path}' '{path}.broken'" in err


def test_generate_json_always_prints_one_object(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *GENERATE, "-o", "out.mp4", "--json")
    assert code == 0 and json.loads(out)["ok"] is True and json.loads(out)["mock"] is True
    code, out, _ = run(capsys, *GENERATE, "-o", "out.mp4", "--json")  # out.mp4 exists now
    failed = json.loads(out)
    assert code == 1 and failed["ok"] is False and failed["exit_status"] == 1
    assert [v["rule"] for v in failed["error"]["violations"]] == ["output.exists"]
    code, out, _ = run(capsys, *GENERATE, "-o", "late.mp4", "--timeout", "0.001", "--json")
    late = json.loads(out)
    assert code == 3 and late["error"]["kind"] == "JobTimeoutError" and late["job"] and late["phase"] == "waiting"


@pytest.mark.parametrize("argv", [("providers", "--json"), ("--help",)])
def test_a_closed_stdout_is_silent(argv: tuple[str, ...]) -> None:
    child = subprocess.Popen([sys.executable, "-m", "wan26core", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # `wan26 … | head` with head already gone
    err = child.stderr.read().decode()
    child.stderr.close()
    assert child.wait(timeout=60) == 141 and err == ""


def test_a_token_in_a_webhook_url_is_kept_nowhere(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = "S3CRET-token-value"
    code, out, err = run(capsys, *GENERATE, "-o", "out.mp4", "--webhook-url", f"https://me.example/h?token={secret}")
    assert code == 0, err
    code, listing, _ = run(capsys, "jobs", "list", "--json")
    stored = b"".join(p.read_bytes() for p in home.glob("journal.sqlite3*"))
    assert secret not in out + err + listing and secret.encode() not in stored


# --- Ctrl-C ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["fal/r2v-flash", "dashscope/r2v"])  # fal follows a status stream, DashScope polls
def test_ctrl_c_while_waiting_stops_cleanly_and_says_how_to_resume(provider: str, tmp_path: Path) -> None:
    env = {**os.environ, "WAN26_HOME": str(tmp_path / "home"), "FAL_KEY": "k", "DASHSCOPE_API_KEY": "k"}
    with running_server(builtin_registry(), seed=5, profile="realistic") as mock:  # jobs take minutes
        child = subprocess.Popen(
            [sys.executable, "-m", "wan26core", "generate", "-p", provider, "--base-url", mock.base_url, *CAT],
            stderr=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        assert child.stderr is not None
        lines = []
        while not any(line.startswith("submitted") for line in lines):
            lines.append(child.stderr.readline())
            assert lines[-1], lines
        time.sleep(0.5)  # waiting now
        child.send_signal(signal.SIGINT)
        _, rest = child.communicate(timeout=30)
    err = "".join(lines) + rest
    short = Journal(tmp_path / "home" / "journal.sqlite3").list()[0].short_id
    assert child.returncode == 130, err
    assert f"keeps running at {provider}" in err and f"`wan26 status {short}`" in err and "`wan26 jobs resume`" in err
    for noise in ("Traceback", "Exception ignored", "GeneratorExit", "KeyboardInterrupt"):
        assert noise not in err


def test_a_second_ctrl_c_exits_at_once(tmp_path: Path) -> None:
    env = {**os.environ, "WAN26_HOME": str(tmp_path / "home"), "DASHSCOPE_API_KEY": "k"}
    with running_server(builtin_registry(), seed=5, profile="realistic") as mock:
        child = subprocess.Popen(
            [sys.executable, "-m", "wan26core", "generate", "-p", "dashscope/r2v", "--base-url", mock.base_url, *CAT],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        assert child.stderr is not None
        while not child.stderr.readline().startswith("submitted"):
            pass
        child.send_signal(signal.SIGINT)
        child.send_signal(signal.SIGINT)
        _, rest = child.communicate(timeout=30)
    assert child.returncode == 130 and "Traceback" not in rest


def test_an_interrupted_mock_job_is_followed_and_resumed_without_a_key(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "FAL_KEY"}
    child = subprocess.Popen(
        [sys.executable, "-m", "wan26core", "generate", "-p", "dashscope/r2v", *CAT],
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "WAN26_HOME": str(home)},
        cwd=tmp_path,
    )
    assert child.stderr is not None
    while not child.stderr.readline().startswith("submitted"):
        pass
    child.send_signal(signal.SIGINT)  # the embedded mock's job takes about a second: still unfinished
    _, rest = child.communicate(timeout=30)
    assert child.returncode == 130 and "keeps running on the embedded mock" in rest, rest
    (record,) = Journal(home / "journal.sqlite3").list()
    assert record.mock and not record.finished
    assert run(capsys, "status", record.short_id)[0] == 0
    code, out, err = run(capsys, "jobs", "resume")
    assert code == 0 and "(mock): succeeded" in out and "fetched ->" in out, out + err
    assert (tmp_path / "v.mp4").read_bytes()[4:8] == b"ftyp"
