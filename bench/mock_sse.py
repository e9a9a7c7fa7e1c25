"""1,000 concurrent fal SSE status streams held at once on one mock process.

Starts the real mock (``wan26 mock serve``'s app under uvicorn, jobs kept in flight), submits one fal job per
stream, opens every ``GET /wan/v2.6/requests/{id}/status/stream`` at once from a client process of its own (raw
asyncio sockets, chunked SSE parsed by hand), holds them, then moves the virtual clock past the end of every job
and times until each stream has sent ``COMPLETED`` and closed. Reported: time to open them all, time to first
event, the server's CPU while holding (streams wait on the clock, they do not poll), its RSS per stream,
keep-alives seen, and the fan-out time of the completion. Target: every stream held and closed cleanly (exit 1
otherwise, unless ``--no-check``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from _common import (
    FAL,
    IN_FLIGHT_ARGS,
    cpu_seconds,
    emit,
    exchange,
    mib,
    percentile,
    raw_request,
    rss_bytes,
    start_server,
    table,
)

STREAM_PATH = "/wan/v2.6/requests/{id}/status/stream"  # fal's queue status stream (contracts/fal/*.json routes.stream)
FULL_STREAMS = 1_000


@dataclass
class StreamLog:
    """What one client saw on its stream."""

    opened_at: float = 0.0
    first_event_at: float | None = None
    ended_at: float | None = None
    statuses: list[str] = field(default_factory=list)
    keepalives: int = 0
    error: str | None = None


async def follow(host: str, port: int, request: bytes, log: StreamLog) -> None:
    """Read one SSE stream (HTTP/1.1 chunked) until the server ends it."""
    log.opened_at = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        if int(head[9:12]) != 200 or b"transfer-encoding: chunked" not in head.lower():
            log.error = f"unexpected answer: {head[:120]!r}"
            writer.close()
            return
        pending = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            pending += chunk[:-2]
            while b"\n\n" in pending:
                block, pending = pending.split(b"\n\n", 1)
                data = [line[5:].strip() for line in block.split(b"\n") if line.startswith(b"data:")]
                if not data:
                    log.keepalives += 1
                    continue
                log.statuses.append(json.loads(b"\n".join(data))["status"])
                if log.first_event_at is None:
                    log.first_event_at = time.perf_counter()
        log.ended_at = time.perf_counter()
        writer.close()
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        log.error = f"{type(exc).__name__}: {exc}"


async def hold_streams(base_url: str, job_ids: list[str], hold_s: float, server_pid: int) -> dict[str, Any]:
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    logs = [StreamLog() for _ in job_ids]
    requests = [
        f"GET {STREAM_PATH.format(id=i)} HTTP/1.1\r\nhost: {parts.netloc}\r\nauthorization: {FAL.headers['authorization']}\r\n"
        "accept: text/event-stream\r\n\r\n".encode()
        for i in job_ids
    ]
    began = time.perf_counter()
    tasks = [asyncio.create_task(follow(host, port, r, log)) for r, log in zip(requests, logs, strict=True)]
    deadline = began + 120
    while time.perf_counter() < deadline and not all(log.first_event_at or log.error or log.ended_at for log in logs):
        await asyncio.sleep(0.02)
    all_open_s = time.perf_counter() - began
    cpu_before, hold_began = cpu_seconds(server_pid), time.perf_counter()
    await asyncio.sleep(hold_s)
    hold_cpu = (cpu_seconds(server_pid) - cpu_before) / (time.perf_counter() - hold_began)
    held_rss = rss_bytes(server_pid)
    held = sum(1 for log in logs if log.first_event_at is not None and log.ended_at is None and log.error is None)
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        released = time.perf_counter()
        answer = await client.post("/__wan26__/clock/advance", json={"seconds": 10**7})
        answer.raise_for_status()
    await asyncio.wait(tasks, timeout=120)
    for task in tasks:
        task.cancel()
    ends = sorted(log.ended_at - released for log in logs if log.ended_at is not None)
    firsts = sorted(log.first_event_at - log.opened_at for log in logs if log.first_event_at is not None)
    completed = sum(1 for log in logs if log.statuses and log.statuses[-1] == "COMPLETED" and log.ended_at is not None)
    errors = [log.error for log in logs if log.error]
    return {
        "all_open_s": all_open_s,
        "first_event_p50_ms": percentile(firsts, 0.5) * 1000,
        "first_event_p99_ms": percentile(firsts, 0.99) * 1000,
        "held": held,
        "hold_s": hold_s,
        "hold_server_cpu": hold_cpu,
        "held_rss_bytes": held_rss,
        "keepalives": sum(log.keepalives for log in logs),
        "completed": completed,
        "all_closed_s": ends[-1] if len(ends) == len(logs) else float("nan"),
        "close_p50_ms": percentile(ends, 0.5) * 1000,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/mock_sse.py", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100 streams held 1 s (CI); implies --no-check")
    parser.add_argument("--no-check", action="store_true", help="exit 0 even when the target is missed")
    parser.add_argument("--streams", type=int, default=FULL_STREAMS)
    parser.add_argument("--hold", type=float, default=20.0, help="seconds to hold them (fal's keep-alive period is 15 s)")
    parser.add_argument("--pure", action="store_true", help="serve without uvloop/httptools (asyncio + h11)")
    args = parser.parse_args(argv)
    if args.quick:
        args.streams, args.hold, args.no_check = 100, 1.0, True
    server = start_server(*IN_FLIGHT_ARGS, *(("--pure",) if args.pure else ()))
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            client.get("/__wan26__/health").raise_for_status()
        idle = rss_bytes(server.pid)
        raw = raw_request(FAL, server.base_url)
        answers = asyncio.run(exchange(server.base_url, [raw] * args.streams, 16))
        if any(status >= 300 for status, _ in answers):
            raise RuntimeError(f"a submit failed: {next(a for a in answers if a[0] >= 300)}")
        job_ids = [FAL.job_id(json.loads(body)) for _, body in answers]
        with_jobs = rss_bytes(server.pid)
        figures = asyncio.run(hold_streams(server.base_url, job_ids, args.hold, server.pid))
    finally:
        server.stop()
    per_stream = (figures["held_rss_bytes"] - with_jobs) / args.streams
    ok = figures["held"] == args.streams and figures["completed"] == args.streams and figures["errors"] == 0
    result: dict[str, Any] = {
        "benchmark": "mock_sse",
        "streams": args.streams,
        "server_impl": server.impl,
        "idle_rss_bytes": idle,
        "jobs_rss_bytes": with_jobs,
        "bytes_per_stream": per_stream,
        **figures,
        "ok": ok,
    }
    print(f"{args.streams:,} concurrent fal SSE status streams on one mock process (uvicorn {server.impl})")
    rows = [
        ["streams held at once", f"{figures['held']:,} / {args.streams:,}"],
        ["time to open all (first event each)", f"{figures['all_open_s']:.2f} s"],
        ["time to first event p50 / p99", f"{figures['first_event_p50_ms']:.0f} / {figures['first_event_p99_ms']:.0f} ms"],
        [f"server CPU while holding {args.hold:g} s", f"{figures['hold_server_cpu']:.1%}"],
        ["RSS idle / with jobs / with streams", f"{mib(idle)} / {mib(with_jobs)} / {mib(figures['held_rss_bytes'])}"],
        ["RSS per stream", f"{per_stream / 1024:.1f} KiB"],
        ["keep-alives received", f"{figures['keepalives']:,}"],
        ["clock jump -> all COMPLETED and closed", f"{figures['all_closed_s']:.2f} s ({figures['completed']:,} completed)"],
        ["errors", f"{figures['errors']}" + (f" (first: {figures['first_error']})" if figures["first_error"] else "")],
    ]
    print(table(rows, ["SSE", "value"]))
    print(f"target: {args.streams:,} streams held, each ends with COMPLETED, no errors: {'met' if ok else 'MISSED'}")
    emit(result)
    return 0 if ok or args.no_check else 1


if __name__ == "__main__":
    sys.exit(main())
