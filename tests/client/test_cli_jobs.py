"""``wan26 generate`` on the embedded mock, ``--dry-run``, the journal commands, and resume after a SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from support import builtin_registry
from wan26_mock.serve import running_server
from wan26core import Client
from wan26core._download import download
from wan26core._journal import Journal
from wan26core.cli import main
from wan26core.cli._jobs import EMBEDDED_TIME_SCALE

REF = "https://example.com/cat.mp4"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("FAL_KEY", "VTRIX_API_KEY", "DASHSCOPE_API_KEY", "AIML_API_KEY", "AIMLAPI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WAN26_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("provider", ["fal/r2v-flash", "aimlapi/r2v", "vtrix/r2v", "dashscope/r2v"])
def test_generate_without_a_key_runs_on_the_embedded_mock(
    provider: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["generate", "-p", provider, "--ref", f"cat={REF}", "@cat waves", "-o", "out.mp4", "--duration", "5"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "embedded mock" in err and "estimated cost" in err
    assert "succeeded" in err  # the plain progress lines
    assert (tmp_path / "out.mp4").read_bytes()[4:8] == b"ftyp"
    assert "out.mp4" in out
    journal = Journal(tmp_path / "home" / "journal.sqlite3")
    assert [(r.phase, r.mock) for r in journal.list()] == [("succeeded", True)]  # one journal, mock jobs marked
    (record,) = journal.list()
    assert record.wanted_output == record.output_path == str(tmp_path / "out.mp4")  # journaled before the wait


#: one command per Wan 2.7 endpoint, each with the media it takes, and the shape its video must have
WAN27 = {
    "dashscope/r2v-2.7": (
        ["--ref", "alice=https://example.com/alice.png", "--ref", f"bob={REF}", "--voice", "alice=https://example.com/a.mp3"],
        "@alice greets @bob",
        ["--resolution", "720p", "--aspect-ratio", "9:16", "--duration", "4"],
        (720, 1280, 4.0),
    ),
    "dashscope/i2v-2.7": (
        ["--image", "https://example.com/first.png", "--last-frame", "https://example.com/last.png"],
        "the door opens",
        ["--resolution", "720p", "--duration", "3"],
        None,
    ),
    "fal/r2v-2.7": (["--ref", "alice=https://example.com/alice.png"], "@alice waves", ["--duration", "3"], None),
    "fal/i2v-2.7": (["--clip", f"{REF}"], "it goes on", ["--resolution", "720p", "--duration", "2"], None),
    "aimlapi/r2v-2.7": (
        ["--ref", f"cat={REF}", "--image", "https://example.com/first.png"],
        "@cat waves",
        ["--duration", "5"],
        None,
    ),
    "aimlapi/i2v-2.7": (["--image", "https://example.com/first.png"], "it waves", ["--duration", "5"], None),
}


@pytest.mark.parametrize("provider", sorted(WAN27))
def test_generate_on_every_wan27_endpoint_writes_a_video_of_the_requested_shape(
    provider: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wan26core._media import probe_file

    media, prompt, options, shape = WAN27[provider]
    code = main(["generate", "-p", provider, *media, prompt, *options, "-o", "out.mp4"])
    _, err = capsys.readouterr()
    assert code == 0, err
    assert "embedded mock" in err
    info = probe_file(tmp_path / "out.mp4")
    seconds = float(options[options.index("--duration") + 1])
    assert info.format == "mp4" and info.duration == pytest.approx(seconds, abs=0.15)
    if shape is not None:
        assert (info.width, info.height) == shape[:2]
    (record,) = Journal(tmp_path / "home" / "journal.sqlite3").list()
    assert record.provider == provider and record.phase == "succeeded"


def test_a_voice_for_an_unknown_reference_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["generate", "-p", "dashscope/r2v-2.7", "--ref", f"cat={REF}", "--voice", "dog=https://e.com/v.mp3", "@cat"])
    assert code == 2 and "--voice 'dog=https://e.com/v.mp3'" in capsys.readouterr().err


def test_generate_uploads_a_local_file_where_the_provider_has_storage(tmp_path: Path) -> None:
    (tmp_path / "alice.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    code = main(["generate", "-p", "fal/r2v-flash", "--ref", "alice=alice.png", "@alice waves", "-o", "a.mp4", "--json"])
    assert code == 0
    record = Journal(tmp_path / "home" / "journal.sqlite3").list()[0]
    assert record.wire["image_urls"][0].startswith("http")  # the file became a URL before the submit


def test_generate_uploads_a_local_clip_and_last_frame_too(tmp_path: Path) -> None:
    """Every source is uploaded where the provider has storage, not only references: a path never reaches the wire."""
    (tmp_path / "clip.mp4").write_bytes(b"\0\0\0\x18ftypmp42" + b"0" * 64)
    (tmp_path / "end.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    argv = ["generate", "-p", "fal/i2v-2.7", "--clip", "clip.mp4", "--last-frame", "end.png", "go on", "--duration", "2"]
    assert main([*argv, "-o", "o.mp4", "--json"]) == 0
    record = Journal(tmp_path / "home" / "journal.sqlite3").list()[0]
    assert record.wire["video_url"].startswith("http") and record.wire["end_image_url"].startswith("http")


def test_a_local_file_where_the_provider_has_no_upload_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "alice.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    code = main(["generate", "-p", "vtrix/r2v", "--ref", "alice=alice.png", "@alice waves"])
    assert code == 1
    assert "documents no upload" in capsys.readouterr().err


def test_dry_run_prints_the_wire_request_and_sends_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["generate", "-p", "dashscope/r2v", "--ref", f"cat={REF}", "@cat waves", "--dry-run", "--seed", "3"])
    out, err = capsys.readouterr()
    assert code == 0
    wire = json.loads(out)
    assert wire["body"]["input"]["reference_urls"] == [REF] and wire["body"]["parameters"]["seed"] == 3
    assert "estimated cost" in err
    assert not (tmp_path / "home").exists()


def test_an_invalid_request_exits_1_naming_the_rule(capsys: pytest.CaptureFixture[str]) -> None:
    refs = [f"--ref=v{n}=https://example.com/{n}.mp4" for n in range(4)]
    code = main(["generate", "-p", "fal/r2v-flash", *refs, "@v0 @v1 @v2 @v3 dance"])
    assert code == 1
    assert "at most 3" in capsys.readouterr().err


CHILD = textwrap.dedent(
    """
    import sys
    from wan26core import Client
    base_url, journal = sys.argv[1], sys.argv[2]
    request = {"prompt": "@cat waves", "references": [{"name": "cat", "source": "https://example.com/cat.mp4"}]}
    with Client("fal/r2v-flash", api_key="k", base_url=base_url, journal=journal, stream=False) as client:
        jobs = [client.submit(request) for _ in range(4)]
        print("submitted", flush=True)
        for job in jobs:
            job.wait()
    """
)


def test_resume_recovers_every_job_after_the_client_is_killed_mid_wait(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal_path = tmp_path / "crash.sqlite3"
    with running_server(builtin_registry(), seed=2, time_scale=0.5) as mock:  # jobs take about 2 s
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, mock.base_url, str(journal_path)],
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        assert child.stdout is not None and child.stdout.readline().strip() == "submitted"
        time.sleep(0.2)  # mid-wait
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        with Journal(journal_path) as journal:
            records = journal.list()
            assert len(records) == 4 and all(r.remote_id and not r.finished for r in records)
        os.environ["FAL_KEY"] = "k"
        try:
            code = main(["jobs", "resume", "--journal", str(journal_path), "-d", str(tmp_path / "videos")])
        finally:
            del os.environ["FAL_KEY"]
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.count("succeeded") == 4
    assert len(list((tmp_path / "videos").glob("*.mp4"))) == 4
    with Journal(journal_path) as journal:
        assert {r.phase for r in journal.list()} == {"succeeded"}
        assert all(r.output_path for r in journal.list())


def test_jobs_list_and_show_read_the_journal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "-p", "fal/r2v-flash", "--ref", f"cat={REF}", "@cat waves", "-o", "x.mp4", "--label", "demo"]) == 0
    path = str(tmp_path / "home" / "journal.sqlite3")
    capsys.readouterr()
    assert main(["jobs", "list", "--journal", path]) == 0
    listing = capsys.readouterr().out
    assert "fal/r2v-flash (mock)" in listing and "succeeded" in listing and "demo" in listing
    short = listing.split()[0]
    assert main(["jobs", "show", short, "--journal", path]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["job"]["phase"] == "succeeded"
    assert next(e["phase"] for e in shown["events"] if e.get("phase")) == "intent"


def test_resume_downloads_every_succeeded_job_whose_wanted_download_did_not_complete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    journal_path = tmp_path / "j.sqlite3"
    request = {"prompt": "@cat waves", "references": [{"name": "cat", "source": REF}]}
    want = {name: tmp_path / "videos" / f"{name}.mp4" for name in ("lost", "renamed", "clash", "skipped")}
    with running_server(builtin_registry(), seed=4, profile="fast") as mock:
        with Client(
            "fal/r2v-flash",
            api_key="k",
            base_url=mock.base_url,
            journal=journal_path,
            stream=False,
            time_scale=EMBEDDED_TIME_SCALE,
        ) as client:
            jobs = {name: client.submit(request) for name in want}
            results = {}
            for name, job in jobs.items():  # as `generate -o` does, then the process "dies" before downloading
                client.want_output(job.local_id, want[name], False)
                results[name] = job.wait()
            # died between the rename and journaling it: the whole video is there, unrecorded
            download(results["renamed"].url, want["renamed"], client=client.http)
            want["clash"].write_bytes(b"the user's own file")
        monkeypatch.setenv("FAL_KEY", "k")
        capsys.readouterr()
        assert main(["jobs", "resume", "--journal", str(journal_path), "--no-download"]) == 0
        assert "nothing to resume" in capsys.readouterr().out and not want["lost"].exists()
        code = main(["jobs", "resume", "--journal", str(journal_path)])
        out = capsys.readouterr().out
        assert code == 1, out  # the clash is reported, not overwritten
        assert main(["jobs", "resume", "--journal", str(journal_path)]) == 1  # still pending: only the clash
        again = capsys.readouterr().out
    assert out.count("succeeded earlier") == 4 and "fetched ->" in out and "already holds this video" in out
    assert "already exists with other content and was kept" in out and "jobs download" in out
    assert again.count("succeeded earlier") == 1 and "clash.mp4 already exists" in again and "lost" not in again
    assert want["clash"].read_bytes() == b"the user's own file"
    with Journal(journal_path) as journal:
        records = {name: journal.get(job.local_id or "") for name, job in jobs.items()}
    for name in ("lost", "renamed", "skipped"):
        assert records[name].output_path == str(want[name]) and want[name].read_bytes()[4:8] == b"ftyp"
    assert want["lost"].read_bytes() == want["renamed"].read_bytes()  # the same test pattern for the same request
    assert records["clash"].output_path is None and records["clash"].download_pending
    assert sorted(p.name for p in want["lost"].parent.iterdir()) == sorted(f"{n}.mp4" for n in want)  # no temporary file


def test_a_voice_twice_for_one_reference_or_for_no_reference_says_which(capsys: pytest.CaptureFixture[str]) -> None:
    twice = ["--voice", "cat=https://e.com/a.mp3", "--voice", "cat=https://e.com/b.mp3"]
    assert main(["generate", "-p", "dashscope/r2v-2.7", "--ref", f"cat={REF}", *twice, "@cat"]) == 2
    assert "reference 'cat' has a voice already" in capsys.readouterr().err
    assert main(["generate", "-p", "dashscope/r2v-2.7", "--ref", f"cat={REF}", "--voice", "dog=https://e.com/a.mp3", "@cat"]) == 2
    assert "no reference is named 'dog'" in capsys.readouterr().err


def test_a_dry_run_in_json_carries_the_estimate_and_its_range(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["generate", "-p", "fal/r2v-2.7", "--ref", f"cat={REF}", "@cat waves", "--duration", "3", "--dry-run", "--json"]
    assert main(argv) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["body"]["reference_video_urls"] == [REF]
    assert shown["estimated_cost_usd"] < shown["estimated_cost_usd_max"]  # the reference video's seconds are billed too
