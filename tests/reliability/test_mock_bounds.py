"""The mock's bounds over a real socket, each mock in a process of its own (``python -m wan26_mock``), with a fresh
output cache so that encodes really happen:

- stall: a huge request (Vtrix ``duration: 100000``, and the largest documented output) beside a normal job: the
  normal job's polls and the health route answer within a second each while the big video is made;
- memory: jobs with big data URIs leave the RSS where it was and the job listing small; thousands of jobs stay
  within ``--max-jobs``;
- SIGTERM and SIGINT stop ``wan26 mock serve`` within two seconds while it encodes.

Bounded by default (as in CI); ``WAN26_SUITE=full`` sends more and bigger bodies and more jobs.
"""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from relykit import CANARY, FULL, report

MIB = 2**20
BEARER = {"authorization": f"Bearer {CANARY}"}
VTRIX = "/model/v1/generation"
VTRIX_TASK = "/model/v1/generation/task/{}"
DASHSCOPE = "/api/v1/services/aigc/video-generation/video-synthesis"
DASHSCOPE_TASK = "/api/v1/tasks/{}"
DASHSCOPE_HEADERS = {**BEARER, "x-dashscope-async": "enable"}
#: the largest documented output: DashScope image-to-video, 1080P, 15 s, with audio
LARGEST: dict[str, Any] = {
    "model": "wan2.6-i2v",
    "input": {"prompt": "a cat waves", "img_url": "https://example.com/cat.png", "audio_url": "https://example.com/a.mp3"},
    "parameters": {"resolution": "1080P", "duration": 15},
}


def vtrix_body(*, duration: Any = 5, size: str = "1280*720", reference: str = "https://example.com/a.mp4") -> dict[str, Any]:
    return {
        "model": "wan26_r2v",
        "input": {"prompt": "character1 waves", "reference_urls": [reference]},
        "parameters": {"size": size, "duration": duration},
    }


@dataclass
class Mock:
    base_url: str
    process: subprocess.Popen[bytes]
    cache: Path

    def rss(self, key: str = "VmRSS") -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"no {key}")

    def http(self, timeout: float = 30) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=timeout)


@contextmanager
def spawn(*options: str) -> Iterator[Mock]:
    """A mock process with a fresh output cache; killed at the end whatever happened."""
    with tempfile.TemporaryDirectory(prefix="wan26-bounds-") as folder:
        cache, log = Path(folder) / "cache", Path(folder) / "log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "wan26_mock", "--port", "0", "--seed", "3", *options],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env={**os.environ, "WAN26_MOCK_CACHE": str(cache)},
            )
        try:
            deadline = time.monotonic() + 30
            while not (found := re.search(r"serving .* on (http://\S+)", log.read_text())):
                assert process.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
            yield Mock(found.group(1), process, cache)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(10)


def vtrix_job(http: httpx.Client, body: dict[str, Any]) -> str | None:
    """The task id, or None when the mock refused the body (as a stricter mock may refuse a huge duration)."""
    answer = http.post(VTRIX, json=body, headers=BEARER)
    assert answer.status_code < 500, answer.text[:300]
    task: str | None = answer.json().get("id") if answer.status_code == 200 else None
    return task


def dashscope_job(http: httpx.Client, body: dict[str, Any]) -> str:
    answer = http.post(DASHSCOPE, json=body, headers=DASHSCOPE_HEADERS)
    assert answer.status_code == 200, answer.text[:300]
    task: str = answer.json()["output"]["task_id"]
    return task


def poll_in_background(url: str, headers: dict[str, str]) -> threading.Thread:
    """Poll once in a thread (the poll that makes the video); its answer does not matter to the test."""

    def poll() -> None:
        with suppress(httpx.HTTPError):  # the mock is killed at the end of the test
            httpx.get(url, headers=headers, timeout=600)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    return thread


def encoding(mock: Mock) -> bool:
    return any(p.suffix == ".part" for p in mock.cache.glob("*"))


# --- stall --------------------------------------------------------------------------------------------
def test_a_huge_request_never_stalls_another_jobs_polls() -> None:
    with spawn() as mock, mock.http() as http:
        warm = vtrix_job(http, vtrix_body())  # the normal shape is made once, before the huge ones
        assert warm is not None
        time.sleep(1.2)
        assert http.get(VTRIX_TASK.format(warm), headers=BEARER).json()["status"] == "completed"

        normal = vtrix_job(http, vtrix_body())
        huge = vtrix_job(http, vtrix_body(duration=100_000, size="1920*1080"))
        largest = dashscope_job(http, LARGEST)
        time.sleep(1.2)  # all three have finished on the virtual clock: their first poll makes their video
        started = time.monotonic()
        if huge is not None:
            poll_in_background(mock.base_url + VTRIX_TASK.format(huge), BEARER)
        poll_in_background(mock.base_url + DASHSCOPE_TASK.format(largest), DASHSCOPE_HEADERS)
        deadline = time.monotonic() + 5
        while not encoding(mock):
            assert time.monotonic() < deadline, "no encode started"
            time.sleep(0.01)

        waits: list[float] = []
        with mock.http(timeout=5) as poller:
            for _ in range(10 if FULL else 5):
                for url, headers in ((VTRIX_TASK.format(normal), BEARER), ("/__wan26__/health", {})):
                    began = time.monotonic()
                    answer = poller.get(url, headers=headers)
                    waits.append(time.monotonic() - began)
                    assert answer.status_code == 200, answer.text[:300]
                time.sleep(0.1)
        during = encoding(mock)
        with mock.http(timeout=60) as patient:  # the big video itself comes, bounded
            done = patient.get(DASHSCOPE_TASK.format(largest), headers=DASHSCOPE_HEADERS).json()
        report(
            "mock_stall",
            {
                "max_poll_s": round(max(waits), 3),
                "encode_still_running_after_polls": during,
                "largest_video_s": round(time.monotonic() - started, 2),
            },
        )
        assert max(waits) < 1.0, waits
        assert done["output"]["task_status"] == "SUCCEEDED", done


# --- memory -------------------------------------------------------------------------------------------
def test_big_data_uris_and_many_jobs_keep_the_mock_small() -> None:
    count, size = (11, 50 * MIB) if FULL else (6, 20 * MIB)
    jobs, cap = (20_000, 2_000) if FULL else (3_000, 500)
    with spawn("--max-jobs", str(cap)) as mock, mock.http(timeout=120) as http:
        http.get("/__wan26__/health").raise_for_status()
        vtrix_job(http, vtrix_body())
        before = mock.rss()
        payload = os.urandom(size * 3 // 4)
        uri = "data:video/mp4;base64," + base64.b64encode(payload).decode()
        for _ in range(count):
            assert vtrix_job(http, vtrix_body(reference=uri)) is not None
        del uri, payload
        grown = mock.rss() - before
        began = time.monotonic()
        listing = http.get("/__wan26__/jobs", params={"limit": 1000})
        listing_s = time.monotonic() - began
        journal = http.get("/__wan26__/journal", params={"limit": 1000})
        for _ in range(jobs):
            http.post(VTRIX, json=vtrix_body(), headers=BEARER)
        health = http.get("/__wan26__/health").json()
        report(
            "mock_memory",
            {
                "data_uris": count,
                "data_uri_mib": size / MIB,
                "rss_growth_mib": round(grown / MIB, 1),
                "jobs_listing_bytes": len(listing.content),
                "jobs_listing_s": round(listing_s, 3),
                "journal_page_bytes": len(journal.content),
                "jobs_sent": jobs + count + 1,
                "jobs_kept": health["jobs"],
                "rss_after_jobs_mib": round(mock.rss() / MIB, 1),
            },
        )
        assert grown < min(3 * size, count * size / 2), grown / MIB  # no body kept per job: transient copies only
        assert len(listing.content) < MIB and listing_s < 2
        assert len(journal.content) < MIB
        assert health["jobs"] <= cap == health["max_jobs"]


# --- SIGTERM / SIGINT mid-encode ------------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_mock_within_two_seconds_even_mid_encode(sig: signal.Signals) -> None:
    with spawn() as mock, mock.http() as http:
        largest = dashscope_job(http, LARGEST)
        huge = vtrix_job(http, vtrix_body(duration=100_000, size="1920*1080"))
        time.sleep(1.2)
        poll_in_background(mock.base_url + DASHSCOPE_TASK.format(largest), DASHSCOPE_HEADERS)
        if huge is not None:
            poll_in_background(mock.base_url + VTRIX_TASK.format(huge), BEARER)
        deadline = time.monotonic() + 5
        while not encoding(mock):
            assert time.monotonic() < deadline, "no encode started"
            time.sleep(0.01)
        time.sleep(0.2)
        began = time.monotonic()
        mock.process.send_signal(sig)
        with suppress(subprocess.TimeoutExpired):
            mock.process.wait(10)
        stopped = time.monotonic() - began
        report("mock_signal", {"signal": sig.name, "stop_s": round(stopped, 3)})
        assert mock.process.returncode is not None and stopped < 2.0, stopped
        assert not encoding(mock)  # the partial file went with the encode
