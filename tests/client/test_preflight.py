"""Everything that can be checked before paying is checked before the first request, and reported at once."""

from __future__ import annotations

import errno
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from support import builtin_registry
from wan26core import Client, GenerationRequest, Reference, ValidationError, get_provider, validate
from wan26core._download import DownloadError, download
from wan26core._journal import Journal
from wan26core._rules.wire import check_wire
from wan26core.cli import main

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
MP4 = b"\x00\x00\x00\x18ftypisom" + b"\x00" * 64
URL = "https://example.com/cat.mp4"


class Counting:
    """An HTTP transport that answers nothing and counts what was asked of it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(f"{request.method} {request.url}")
        return httpx.Response(500)


@pytest.fixture
def counting() -> Counting:
    return Counting()


def client(counting: Counting, tmp_path: Path) -> Client:
    http = httpx.Client(transport=httpx.MockTransport(counting))
    return Client("fal/r2v-flash", api_key="k", http=http, journal=tmp_path / "j.sqlite3", registry=builtin_registry())


def rules(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [v.rule for v in exc.value.violations]


# --- the output path ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "overwrite", "rule"),
    [
        (lambda p: p.write_bytes(b"mine") and p, False, "output.exists"),
        (lambda p: p.mkdir() or p, True, "output.directory"),
        (lambda p: Path(os.devnull), True, "output.not_file"),
        (lambda p: p.write_bytes(b"a file") and p / "sub" / "out.mp4", False, "output.folder"),
    ],
    ids=["exists", "directory", "device", "folder-under-a-file"],
)
def test_output_problems_stop_the_job_before_any_request(
    make: Any, overwrite: bool, rule: str, counting: Counting, tmp_path: Path
) -> None:
    output = Path(make(tmp_path / "out.mp4"))
    with client(counting, tmp_path) as c, pytest.raises(ValidationError) as caught:
        c.generate({"prompt": "@cat waves", "references": [{"name": "cat", "source": URL}]}, output=output, overwrite=overwrite)
    assert rules(caught) == [rule] and counting.calls == []
    assert Journal(tmp_path / "j.sqlite3").list() == []  # not even an intent: nothing was about to be sent
    assert output == Path(os.devnull) or not output.is_file() or output.read_bytes() == b"mine"


def test_a_missing_folder_is_created_but_a_read_only_one_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from wan26core._preflight import output_violations

    assert output_violations(tmp_path / "new" / "deeper" / "out.mp4") == []  # the download creates it
    monkeypatch.setattr("wan26core._preflight.os.access", lambda path, mode: Path(path) != tmp_path)  # read-only, as EROFS
    assert [v.rule for v in output_violations(tmp_path / "out.mp4")] == ["output.folder"]
    assert "not writable" in output_violations(tmp_path / "new" / "out.mp4")[0].message


def test_every_problem_is_reported_at_once(counting: Counting, tmp_path: Path) -> None:
    (tmp_path / "out.mp4").write_bytes(b"mine")
    (tmp_path / "alice.png").write_text("not an image at all\n")
    request = {
        "prompt": "@alice waves at @bob",
        "references": [
            {"name": "alice", "source": str(tmp_path / "alice.png")},
            {"name": "bob", "source": "http://x.test/b.mp4"},
        ],
        "watermark": True,
    }
    with client(counting, tmp_path) as c, pytest.raises(ValidationError) as caught:
        c.generate(request, output=tmp_path / "out.mp4")
    assert sorted(rules(caught)) == ["option.unsupported", "output.exists", "reference_image.format", "source.scheme"]
    assert counting.calls == []


def test_the_cli_checks_the_output_before_submitting(tmp_path: Path, capsys: pytest.CaptureFixture[str], home: Path) -> None:
    (tmp_path / "out.mp4").write_bytes(b"mine")
    code = main(["generate", "-p", "fal/r2v-flash", "--ref", f"cat={URL}", "@cat waves", "-o", str(tmp_path / "out.mp4")])
    err = capsys.readouterr().err
    assert code == 1 and "out.mp4 already exists" in err and "--overwrite" in err
    assert "submitted" not in err and "estimated cost" not in err
    assert not (home / "journal.sqlite3").exists() or Journal(home / "journal.sqlite3").list() == []


# --- local sources -----------------------------------------------------------------------------------------------


def violations_for(source: str, kind: str | None = None, provider: str = "fal/r2v-flash", probe: bool = False) -> list[str]:
    request = GenerationRequest(prompt="@a waves", references=[Reference("a", source, kind)])  # type: ignore[arg-type]
    return [v.rule for v in validate(request, get_provider(provider).contract, probe=probe) if v.severity == "error"]


def test_local_files_are_checked_by_their_bytes(tmp_path: Path) -> None:
    (tmp_path / "real.png").write_bytes(PNG)
    (tmp_path / "real.mp4").write_bytes(MP4)
    (tmp_path / "text.png").write_text("hello\n")
    (tmp_path / "jpeg.png").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 32)  # a JPEG named .png: still accepted (jpeg is)
    (tmp_path / "passwd.png").symlink_to("/etc/passwd")
    (tmp_path / "folder.mp4").mkdir()
    huge = tmp_path / "huge.mp4"
    with huge.open("wb") as handle:  # sparse: 101 MB on paper, nothing on disk
        handle.write(MP4)
        handle.truncate(101 * 2**20)
    assert violations_for(str(tmp_path / "real.png")) == []
    assert violations_for(str(tmp_path / "real.mp4")) == []
    assert violations_for(str(tmp_path / "jpeg.png")) == []
    assert violations_for(str(tmp_path / "text.png")) == ["reference_image.format"]
    assert violations_for(str(tmp_path / "passwd.png")) == ["reference_image.format"]
    assert violations_for("/etc/passwd", "video") == ["reference_video.format"]
    assert violations_for(str(tmp_path / "folder.mp4")) == ["source.not_file"]
    assert violations_for(str(tmp_path / "huge.mp4")) == ["reference_video.max_bytes"]
    assert violations_for(str(tmp_path / "gone.mp4")) == ["references.source"]


def test_a_png_given_as_a_video_is_one_violation(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (400, 400)).save(tmp_path / "a.png")
    assert violations_for(str(tmp_path / "a.png"), "video", probe=True) == ["reference_video.format"]
    assert violations_for("https://example.com/a.png", "video") == ["reference_video.format"]
    assert violations_for(str(tmp_path / "a.png"), "video", provider="dashscope/r2v", probe=True) == [
        "reference_video.format",
        "source.local_file",  # a second fault: dashscope documents no upload for any local file
    ]


@pytest.mark.parametrize(
    ("source", "rule"),
    [
        ("http://example.com/a.mp4", "source.scheme"),
        ("http://169.254.169.254/latest/meta-data/a.mp4", "source.scheme"),
        ("https://169.254.169.254/latest/meta-data/a.mp4", "source.host"),
        ("https://[fe80::1]/a.mp4", "source.host"),
        ("https://metadata.google.internal/computeMetadata/v1/a.mp4", "source.host"),
        ("ftp://example.com/a.mp4", "references.source"),
    ],
)
def test_sources_are_https_data_or_local(source: str, rule: str) -> None:
    assert violations_for(source) == [rule]


def test_the_mock_judges_wire_bodies_as_the_provider_does() -> None:
    contract = get_provider("fal/r2v-flash").contract
    body = {"prompt": "Character1 waves", "video_urls": ["http://127.0.0.1:9/a.mp4"]}
    assert check_wire(body, contract)[1] == []  # plain http is the client's pre-flight rule, not fal's


def test_a_prompt_of_three_million_characters_validates_fast() -> None:
    request = GenerationRequest(prompt="@a " * 1_000_000, references=[Reference("a", URL)])
    start = time.perf_counter()
    found = validate(request, get_provider("fal/r2v-flash").contract)
    assert time.perf_counter() - start < 1.0  # 8 s before: every token was bound to say the prompt is too long
    assert [v.rule for v in found] == ["prompt.max_length"]


def test_validate_keeps_the_contracts_errors_when_other_fields_do_not_parse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "r.json"
    path.write_text(
        json.dumps(
            {"prompt": "@a x", "references": [{"name": "a", "source": URL}], "watermark": True, "resolution": "4k", "bogus": 1}
        )
    )
    assert main(["validate", str(path), "-p", "fal/r2v-flash", "--json"], registry=builtin_registry()) == 1
    found = {(v["field"], v["rule"]) for v in json.loads(capsys.readouterr().out)["violations"]}
    assert found == {("bogus", "request.unknown_field"), ("resolution", "option.values"), ("watermark", "option.unsupported")}


# --- downloads ---------------------------------------------------------------------------------------------------


def serving(body: bytes) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=body)))


@pytest.mark.parametrize("make", [lambda p: Path(os.devnull), lambda p: (os.mkfifo(p), p)[1]], ids=["device", "fifo"])
def test_a_download_never_replaces_what_is_not_a_regular_file(make: Any, tmp_path: Path) -> None:
    target = make(tmp_path / "pipe.mp4")
    mode = os.stat(target).st_mode
    with serving(MP4) as http, pytest.raises(DownloadError, match="not a regular file"):
        download("https://cdn.test/v.mp4", target, client=http, overwrite=True)
    assert os.stat(target).st_mode == mode and not stat.S_ISREG(mode)


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.ENOSPC, "no space left on the device holding"),
        (errno.EROFS, "read-only file system"),
        (errno.EACCES, "no permission"),
    ],
)
def test_a_full_or_read_only_disk_is_one_clear_error_and_leaves_nothing(
    code: int, words: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_write(self: Any, chunk: bytes) -> None:  # the disk fails after the temporary file was created
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr("wan26core._download._Sink.write", failing_write)
    with serving(MP4) as http, pytest.raises(DownloadError) as caught:
        download("https://cdn.test/v.mp4?sig=s", tmp_path / "out.mp4", client=http)
    assert words in str(caught.value) and str(tmp_path) in str(caught.value)
    assert list(tmp_path.iterdir()) == []  # no partial file, no temporary file


def test_too_little_free_space_is_said_before_downloading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("wan26core._download.free_bytes", lambda folder: 10)
    with serving(MP4) as http, pytest.raises(DownloadError, match="not enough space"):
        download("https://cdn.test/v.mp4", tmp_path / "out.mp4", client=http, expected_size=len(MP4))
    assert list(tmp_path.iterdir()) == []


def test_generate_on_a_full_disk_exits_3_and_resume_fetches_the_video_later(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(self: Any, chunk: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr("wan26core._download._Sink.write", full)
        code = main(["generate", "-p", "dashscope/r2v", "--ref", f"cat={URL}", "@cat waves", "-o", "out.mp4"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "wan26: error: cannot save out.mp4: no space left" in err and "wan26 jobs resume" in err and "Traceback" not in err
    assert not (tmp_path / "out.mp4").exists()
    assert main(["jobs", "resume"]) == 0  # the disk has room again: the same video, where it was wanted
    assert (tmp_path / "out.mp4").read_bytes()[4:8] == b"ftyp"


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Any:
    """A real 64 KiB tmpfs (root only, where mounting is allowed); unmounted afterwards."""
    import shutil
    import subprocess

    mount = shutil.which("mount")
    if os.name != "posix" or os.geteuid() != 0 or mount is None:
        pytest.skip("mounting a tmpfs needs root")
    folder = tmp_path / "disk"
    folder.mkdir()
    if subprocess.run([mount, "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True).returncode:
        pytest.skip("tmpfs cannot be mounted here")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_a_real_full_then_read_only_disk(tiny_disk: Path) -> None:
    import subprocess

    video = MP4 + b"\x00" * (200 * 1024)  # bigger than the disk; no size announced beforehand
    big = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=iter([video]))))
    with big, pytest.raises(DownloadError, match="no space left on the device holding"):
        download("https://cdn.test/v.mp4", tiny_disk / "out.mp4", client=big)
    assert list(tiny_disk.iterdir()) == []
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], check=True, capture_output=True)
    from wan26core._preflight import output_violations

    assert [v.rule for v in output_violations(tiny_disk / "out.mp4")] == ["output.folder"]
    with serving(MP4) as http, pytest.raises(DownloadError, match="read-only file system"):
        download("https://cdn.test/v.mp4", tiny_disk / "out.mp4", client=http)
