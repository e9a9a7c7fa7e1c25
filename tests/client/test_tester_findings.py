"""Issue 13's outside test: each finding of the tester, as a test that failed before its fix."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from clikit import GENERATE, URL, run

from support import builtin_registry
from wan26_mock.engine import Engine
from wan26_mock.serve import MockServer, running_server
from wan26core import AsyncClient, Client, GenerationRequest, JobTimeoutError, Reference, get_provider, validate
from wan26core._errors import NativeError
from wan26core._journal import Journal
from wan26core._protocol import error_for

pytestmark = pytest.mark.usefixtures("home")  # every test: no key, a home of its own

REQUEST = {"prompt": "@cat waves", "references": [{"name": "cat", "source": URL}]}


def journaled(home: Path) -> int:
    return len(Journal(home / "journal.sqlite3").list()) if (home / "journal.sqlite3").exists() else 0


# --- 1. a dangling symbolic link as the output ------------------------------------------------------------------------


def test_a_dangling_link_as_output_is_refused_before_the_job_and_replaced_as_a_link(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path
) -> None:
    (tmp_path / "dangling.mp4").symlink_to("nowhere.mp4")
    code, _, err = run(capsys, *GENERATE, "-o", "dangling.mp4")
    assert code == 1 and "symbolic link" in err and "--overwrite" in err and journaled(home) == 0, err
    code, _, err = run(capsys, *GENERATE, "-o", "dangling.mp4", "--overwrite")
    assert code == 0, err
    assert not (tmp_path / "dangling.mp4").is_symlink() and (tmp_path / "dangling.mp4").stat().st_size > 0
    assert not (tmp_path / "nowhere.mp4").exists()  # the link was replaced, never followed


# --- 2. --timeout holds on a status stream that only sends keep-alives ------------------------------------------------


@pytest.fixture(scope="module")
def chatty_mock() -> Iterator[MockServer]:
    """A mock whose quiet status streams send a keep-alive every 0.1 s (a read never times out on its own)."""
    engine = Engine(builtin_registry(), seed=13, stream_keepalive=0.1)
    with running_server(engine=engine) as server:
        yield server


def stuck(mock: MockServer) -> None:
    with httpx.Client(base_url=mock.admin_url) as admin:
        assert admin.post("/reset", json={}).status_code == 200
        answer = admin.post("/scenarios", json={"scenario": "stuck", "count": 1, "provider": "fal/r2v-flash", "action": "submit"})
        assert answer.status_code == 200, answer.text


def options(mock: MockServer, tmp_path: Path) -> dict[str, Any]:
    return {"api_key": "k", "base_url": mock.base_url, "registry": builtin_registry(), "journal": Journal(tmp_path / "j.sqlite3")}


def test_the_wait_deadline_holds_on_a_stream_of_keep_alives(chatty_mock: MockServer, tmp_path: Path) -> None:
    stuck(chatty_mock)
    with Client("fal/r2v-flash", **options(chatty_mock, tmp_path)) as c:
        job = c.submit(REQUEST)
        started = time.monotonic()
        with pytest.raises(JobTimeoutError):
            job.wait(timeout=0.5)
    assert time.monotonic() - started < 3


def test_the_async_wait_deadline_holds_on_a_stream_of_keep_alives(chatty_mock: MockServer, tmp_path: Path) -> None:
    stuck(chatty_mock)

    async def run() -> float:
        async with AsyncClient("fal/r2v-flash", **options(chatty_mock, tmp_path)) as c:
            job = await c.submit(REQUEST)
            started = time.monotonic()
            with pytest.raises(JobTimeoutError):
                await asyncio.wait_for(job.wait(timeout=0.5), 10)  # the guard: before the fix it never ended
            return time.monotonic() - started

    assert asyncio.run(run()) < 3


# --- 3. numeric options are checked when parsed, before anything is sent ------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [[*GENERATE, f"--timeout={value}"] for value in ("-1", "0", "nan", "inf", "-inf", "soon")]
    + [["jobs", "resume", "--timeout", "0"], ["jobs", "list", "--limit", "0"], ["jobs", "list", "--limit", "-3"]],
)
def test_a_non_positive_or_non_finite_number_is_a_usage_error_before_any_job(
    argv: list[str], capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2 and "above 0" in err, err
    assert code == 2 and journaled(home) == 0 and "estimated cost" not in err


# --- 4. a request file that cannot be read is named as such, never as the journal ---------------------------------------


@pytest.mark.parametrize("content", [b'{"prompt": "caf\xe9"}', b"[" * 100_000], ids=["latin-1", "deeply-nested"])
@pytest.mark.parametrize("command", ["validate", "render", "generate"])
def test_an_unreadable_request_file_is_named_and_is_a_usage_error(
    command: str, content: bytes, capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path
) -> None:
    (tmp_path / "bad.json").write_bytes(content)
    argv = (
        ["generate", "-r", "bad.json", "-p", "fal/r2v-flash"]
        if command == "generate"
        else [command, "bad.json", "-p", "fal/r2v-flash"]
    )
    code, _, err = run(capsys, *argv)
    assert code == 2 and "bad.json" in err and "journal" not in err and "bug" not in err, err
    assert "cannot read request file bad.json" in err or "bad.json is not valid JSON" in err, err


@pytest.mark.parametrize(
    ("column", "value"),
    [("wire", "{not json"), ("created_at", "yesterday"), ("result", "[")],
    ids=["wire", "created_at", "result"],
)
def test_a_damaged_journal_row_names_the_journal_and_the_row(
    column: str, value: str, capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    import sqlite3

    assert run(capsys, *GENERATE, "-o", "out.mp4")[0] == 0
    path = home / "journal.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(f"UPDATE jobs SET {column} = ?", (value,))
    (job,) = sqlite3.connect(path).execute("SELECT id FROM jobs").fetchall()
    for argv in (["jobs", "list"], ["jobs", "show", job[0]], ["status", job[0]]):
        code, _, err = run(capsys, *argv)
        assert code == 2 and f"the job journal {path} cannot be read" in err and job[0] in err and column in err, err
        assert "bug" not in err and "Traceback" not in err


# --- 5. a prompt of bytes that are not UTF-8 ----------------------------------------------------------------------------


def test_a_prompt_that_is_not_utf8_is_a_violation_before_any_journal_write(
    capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    prompt = os.fsdecode(b"@cat \xff\xfe")  # what a shell hands over for "$(printf '@cat \xff\xfe')"
    code, _, err = run(capsys, "generate", "-p", "fal/r2v-flash", "--ref", f"cat={URL}", prompt, "-o", "out.mp4")
    assert code == 1 and "prompt must be valid Unicode text" in err and "bug" not in err, err
    assert journaled(home) == 0
    code, _, err = run(capsys, "generate", "-p", "fal/r2v-flash", "--ref", f"cat={URL}", "@cat", "--negative-prompt", prompt)
    assert code == 1 and "negative_prompt must be valid Unicode text" in err, err


# --- 6. metadata and link-local hosts in every spelling -------------------------------------------------------------------


def violations_for(source: str, kind: str | None = "video", provider: str = "fal/r2v-flash") -> list[str]:
    request = GenerationRequest(prompt="@a waves", references=(Reference("a", source, kind),))  # type: ignore[arg-type]
    return [v.rule for v in validate(request, get_provider(provider).contract) if v.severity == "error"]


@pytest.mark.parametrize(
    "host",
    [
        "100.100.100.200",  # Alibaba Cloud's metadata service
        "[fd00:ec2::254]",  # AWS's, over IPv6
        "[::ffff:169.254.169.254]",  # IPv4-mapped
        "[::ffff:a9fe:a9fe]",
        "[2002:a9fe:a9fe::]",  # 6to4
        "2852039166",  # 169.254.169.254 as one number
        "0xa9fea9fe",
        "0251.0376.0251.0376",  # octal
        "169.254.43518",
        "0",  # 0.0.0.0
    ],
)
def test_metadata_and_link_local_hosts_are_refused_in_every_spelling(host: str) -> None:
    assert violations_for(f"https://{host}/latest/a.mp4") == ["source.host"]


@pytest.mark.parametrize("host", ["example.com", "93.184.216.34", "[2606:2800:220:1::]", "cdn1.example.com", "0a.example.com"])
def test_ordinary_hosts_still_pass(host: str) -> None:
    assert violations_for(f"https://{host}/a.mp4") == []


# --- 7. a local file where the provider documents no upload: the same answer from every command -------------------------


@pytest.mark.parametrize("provider", ["vtrix/r2v", "dashscope/r2v", "dashscope/r2v-flash", "aimlapi/r2v"])
def test_a_local_file_without_an_upload_api_is_refused_by_every_command(
    provider: str, capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path
) -> None:
    (tmp_path / "bob.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 64)
    request = {"prompt": "@bob waves", "references": [{"name": "bob", "source": "bob.mp4"}]}
    (tmp_path / "req.json").write_text(json.dumps(request))
    wanted = f"'bob.mp4' is a local file and {provider} documents no upload"
    for argv in (
        ["validate", "req.json", "-p", provider],
        ["render", "req.json", "-p", provider],
        ["generate", "-r", "req.json", "-p", provider, "--dry-run"],
        ["generate", "-r", "req.json", "-p", provider, "-o", "out.mp4"],
    ):
        code, out, err = run(capsys, *argv)
        assert code == 1 and wanted in out + err, (argv, out, err)
    assert journaled(home) == 0


# --- 8. a data URI's bytes are sniffed like a local file's ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "rule"),
    [
        ("data:image/png;base64,", "references.source"),
        ("data:image/png;base64,aGVsbG8=", "reference_image.format"),  # "hello"
        ("data:image/png;base64,/9j/4AAQSkZJRgABAQ==", None),  # a JPEG: accepted whatever the MIME type says
        (
            "data:image/png;base64," + base64.b64encode(b"\x00\x00\x00\x18ftypisom" + b"\0" * 64).decode(),
            "reference_image.format",
        ),
        ("data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 8_000_000).decode(), None),
    ],
    ids=["empty", "hello", "jpeg", "mp4-as-image", "big-png"],
)
def test_a_data_uri_is_checked_by_its_bytes(uri: str, rule: str | None) -> None:
    started = time.monotonic()
    assert violations_for(uri, "image", provider="vtrix/r2v") == ([rule] if rule else [])
    assert time.monotonic() - started < 2  # only the first few KB are decoded


# --- smaller findings -----------------------------------------------------------------------------------------------------


def test_jobs_list_unfinished_shows_a_succeeded_job_whose_download_is_pending(
    capsys: pytest.CaptureFixture[str], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patched:
        patched.setattr(
            "wan26core._download._Sink.write", lambda self, chunk: (_ for _ in ()).throw(OSError(28, "No space left"))
        )
        assert run(capsys, *GENERATE, "-o", "out.mp4")[0] == 3
    code, out, _ = run(capsys, "jobs", "list", "--unfinished")
    assert code == 0 and "download pending" in out and "no unfinished jobs" not in out, out
    code, out, _ = run(capsys, "jobs", "list", "--unfinished", "--json")
    assert [j["phase"] for j in json.loads(out)] == ["succeeded"]
    assert run(capsys, "jobs", "resume")[0] == 0
    assert "no unfinished jobs" in run(capsys, "jobs", "list", "--unfinished")[1]


def test_jobs_resume_exits_3_on_a_timeout_and_2_without_a_key(
    chatty_mock: MockServer, capsys: pytest.CaptureFixture[str], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stuck(chatty_mock)
    with Client(
        "fal/r2v-flash", api_key="k", base_url=chatty_mock.base_url, registry=builtin_registry(), journal=home / "journal.sqlite3"
    ) as c:
        c.submit(REQUEST)
    code, out, err = run(capsys, "jobs", "resume", "--timeout", "0.3")
    assert code == 2 and "FAL_KEY" in out + err and "api_key=" not in out + err, (out, err)
    monkeypatch.setenv("FAL_KEY", "k")
    code, out, err = run(capsys, "jobs", "resume", "--timeout", "0.3")
    assert code == 3 and "JobTimeoutError" in out, (out, err)


@pytest.mark.skipif(not Path("/proc/self").exists() or not Path("/sys/kernel").exists(), reason="needs Linux /proc and /sys")
@pytest.mark.parametrize("output", ["/proc/x.mp4", "/sys/kernel/x.mp4"])
def test_an_output_on_a_pseudo_file_system_is_refused_before_the_job(
    output: str, capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    code, _, err = run(capsys, *GENERATE, "-o", output)
    assert code == 1 and "pseudo file system" in err and journaled(home) == 0, err


@pytest.mark.parametrize(
    "source", ["file:///etc/passwd", "javascript:alert(1)", "ftp://example.com/a", "https://169.254.169.254/latest/meta-data"]
)
def test_a_bad_source_of_unknown_kind_is_reported_as_such(source: str) -> None:
    rules = violations_for(source, None)
    assert "references.kind" in rules and ({"references.source", "source.host"} & set(rules)), rules


@pytest.mark.parametrize("argv", ["providers --json", "validate req.json -p fal/r2v-flash --json", "--help"])
def test_a_stdout_closed_at_start_is_silent_with_141(argv: str, tmp_path: Path) -> None:
    (tmp_path / "req.json").write_text(json.dumps(REQUEST))
    shell = f"'{sys.executable}' -m wan26core {argv} >&-"
    child = subprocess.run(["sh", "-c", shell], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert child.returncode == 141 and child.stderr == "", child.stderr


@pytest.mark.parametrize(
    ("native", "text"),
    [
        (NativeError(500, "500", "upstream broke"), "HTTP 500: upstream broke"),
        (NativeError(400, "InvalidParameter", "bad size"), "HTTP 400 InvalidParameter: bad size"),
        (NativeError(None, "failed", "no video"), "failed: no video"),
        (NativeError(502, "502", ""), "HTTP 502"),
    ],
)
def test_a_native_error_without_its_own_code_does_not_repeat_the_status(native: NativeError, text: str) -> None:
    assert str(native) == text
    assert str(error_for(get_provider("vtrix/r2v").contract, native)).count(str(native.http_status)) <= 1


def test_cli_messages_speak_cli_not_python(
    chatty_mock: MockServer, capsys: pytest.CaptureFixture[str], home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "out.mp4").write_bytes(b"mine")
    monkeypatch.setenv("FAL_KEY", "k")
    stuck(chatty_mock)
    code, out, err = run(capsys, *GENERATE, "--base-url", chatty_mock.base_url, "--timeout", "0.3", "-o", "late.mp4", "--json")
    assert code == 3 and "wan26 jobs resume" in err and "Client." not in err + out, err
    code, _, err = run(capsys, *GENERATE, "-o", "out.mp4")
    assert code == 1 and "pass --overwrite" in err and "overwrite=True" not in err, err
    (record,) = Journal(home / "journal.sqlite3").list()
    monkeypatch.delenv("FAL_KEY")
    code, _, err = run(capsys, "status", record.id)
    assert code == 2 and "FAL_KEY" in err and "api_key=" not in err, err


@pytest.mark.parametrize("port", ["-5", "70000", "http"])
def test_a_mock_port_out_of_range_is_a_usage_error(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "mock", "serve", f"--port={port}")
    assert code == 2 and "--port" in err and "65535" in err, err
