"""Shared pieces of the benchmarks: server processes, resource readings, workloads and output."""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
RESULT_PREFIX = "BENCH_RESULT "
_SERVING = re.compile(r"serving .* on (http://\S+)")
_IMPL = re.compile(r"bench-server impl=(\S+)")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass
class Server:
    """A server process started by :func:`start_server`; stop it with :meth:`stop`."""

    process: subprocess.Popen[bytes]
    base_url: str
    impl: str
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.unlink(missing_ok=True)


def start_server(*args: str, timeout: float = 60.0) -> Server:
    """Start ``bench/_server.py ARGS`` on a free port and wait until it says where it listens."""
    fd, name = tempfile.mkstemp(prefix="wan26-bench-", suffix=".log")
    log = Path(name)
    with os.fdopen(fd, "wb") as sink:
        process = subprocess.Popen(
            [PYTHON, str(HERE / "_server.py"), "--port", "0", *args], stdout=sink, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        found = _SERVING.search(text)
        if found:
            impl = _IMPL.search(text)
            return Server(process, found.group(1), impl.group(1) if impl else "?", log)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    process.wait()
    text = log.read_text(errors="replace")
    log.unlink(missing_ok=True)
    raise RuntimeError(f"benchmark server {' '.join(args)} did not start:\n{text}")


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` (Linux /proc)."""
    return _status_kb(pid, "VmRSS") * 1024


def peak_rss_bytes(pid: int) -> int:
    """High-water mark of the resident set of ``pid`` (Linux /proc)."""
    return _status_kb(pid, "VmHWM") * 1024


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no {key}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time consumed so far by ``pid`` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14 and 15 of stat)


# --- workloads: one valid submit per provider, and where its status is polled --------------------------------------
@dataclass(frozen=True)
class Workload:
    """How to create a job on one provider of the mock and how its clients poll it."""

    name: str
    submit_path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status_path: str  # with {id}
    id_path: Sequence[str]
    extra_submit_headers: dict[str, str] = field(default_factory=dict)

    def job_id(self, answer: Any) -> str:
        for key in self.id_path:
            answer = answer[key]
        return str(answer)


FAL = Workload(
    "fal/r2v-flash",
    "/wan/v2.6/reference-to-video/flash",
    {"authorization": "Key x"},
    {"prompt": "Character1 dances in the rain.", "video_urls": ["https://example.com/dancer.mp4"], "resolution": "720p"},
    "/wan/v2.6/requests/{id}/status?logs=1",  # what fal-client's status(with_logs=True) and subscribe poll
    ("request_id",),
)
DASHSCOPE = Workload(
    "dashscope/r2v",
    "/api/v1/services/aigc/video-generation/video-synthesis",
    {"authorization": "Bearer x"},
    {
        "model": "wan2.6-r2v",
        "input": {"prompt": "character1 dances in the rain", "reference_urls": ["https://example.com/dancer.mp4"]},
        "parameters": {"size": "1280*720", "duration": 5},
    },
    "/api/v1/tasks/{id}",
    ("output", "task_id"),
    {"x-dashscope-async": "enable"},
)
VTRIX = Workload(
    "vtrix/r2v",
    "/model/v1/generation",
    {"authorization": "Bearer x"},
    {
        "model": "wan26_r2v",
        "input": {"prompt": "character1 dances in the rain", "reference_urls": ["https://example.com/dancer.mp4"]},
        "parameters": {"size": "1280*720", "duration": 5},
    },
    "/model/v1/generation/task/{id}",
    ("id",),
)
AIMLAPI = Workload(
    "aimlapi/r2v",
    "/v2/video/generations",
    {"authorization": "Bearer x"},
    {
        "model": "alibaba/wan-2-6-r2v",
        "prompt": "character1 dances in the rain",
        "video_urls": ["https://example.com/dancer.mp4"],
        "resolution": "720p",
        "duration": 5,
    },
    "/v2/video/generations?generation_id={id}",
    ("id",),
)
WORKLOADS = {w.name: w for w in (FAL, DASHSCOPE, VTRIX, AIMLAPI)}

# Jobs stay in flight for the whole benchmark: realistic timings (tens of seconds at least) slowed 1000x.
IN_FLIGHT_ARGS = ("--seed", "1", "--profile", "realistic", "--time-scale", "0.001")


def submit_one(client: httpx.Client, workload: Workload) -> str:
    headers = {**workload.headers, **workload.extra_submit_headers}
    response = client.post(workload.submit_path, json=workload.body, headers=headers)
    if response.status_code >= 300:
        raise RuntimeError(f"{workload.name}: submit answered {response.status_code}: {response.text[:300]}")
    return workload.job_id(response.json())


def raw_request(workload: Workload, base_url: str) -> bytes:
    """The submit of ``workload`` as raw HTTP/1.1 bytes (keep-alive)."""
    body = json.dumps(workload.body).encode()
    headers = {
        "host": urlsplit(base_url).netloc,
        "content-type": "application/json",
        "content-length": str(len(body)),
        **workload.headers,
        **workload.extra_submit_headers,
    }
    head = f"POST {workload.submit_path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode() + body


async def exchange(base_url: str, requests: Sequence[bytes], connections: int) -> list[tuple[int, bytes]]:
    """Send raw requests over ``connections`` keep-alive connections; (status, body) of each, in order.

    httpx tops out at a few hundred requests/s here, slower than the mock; this keeps the client out of the way.
    """
    parts = urlsplit(base_url)
    answers: list[tuple[int, bytes]] = [(0, b"")] * len(requests)
    queue = iter(range(len(requests)))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            for index in queue:  # one shared iterator: each request goes out exactly once
                writer.write(requests[index])
                head = await reader.readuntil(b"\r\n\r\n")
                lower = head.lower()
                at = lower.find(b"\r\ncontent-length:")
                if at < 0:
                    raise RuntimeError(f"response without content-length: {head[:200]!r}")
                length = int(lower[at + 17 : lower.index(b"\r\n", at + 2)])
                answers[index] = (int(head[9:12]), await reader.readexactly(length))
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return answers


def in_flight(client: httpx.Client, workload: Workload, job_id: str) -> Any:
    """The job's status body; raises unless the job is still queued or running."""
    response = client.get(workload.status_path.format(id=job_id), headers=workload.headers)
    if response.status_code >= 300 and not (workload is FAL and response.status_code == 202):
        raise RuntimeError(f"{workload.name}: status answered {response.status_code}: {response.text[:300]}")
    text = response.text
    if any(word in text for word in ("COMPLETED", "SUCCEEDED", "completed", "FAILED", "failed", 'error":{')):
        raise RuntimeError(f"{workload.name}: job {job_id} is no longer in flight: {text[:300]}")
    return response.json()


# --- figures ---------------------------------------------------------------------------------------------------------
def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(fraction * len(sorted_values) + 0.5)))
    return float(sorted_values[rank - 1])


def mib(value: float) -> str:
    return f"{value / 2**20:.1f} MiB"


def emit(result: dict[str, Any]) -> None:
    """The machine-readable line that ``bench/run_all.py`` collects."""
    print(RESULT_PREFIX + json.dumps(result, sort_keys=True), flush=True)


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """Rows as aligned text: the first column to the left, the others to the right."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = (str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        return "  ".join(cells).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])
