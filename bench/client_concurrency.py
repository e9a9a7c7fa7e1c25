"""1,000 concurrent jobs through ``wan26core.AsyncClient``: wall time and the client process's peak memory.

Starts the real mock in a process of its own (``--profile fast``: a job is queued 0.25 s and runs 0.75 s), then a
client in a process of its own (this script with ``--child``), so that its memory is measured alone. The client is an
``AsyncClient`` as a user builds it (default httpx client, a SQLite journal in a temporary directory, the poll schedule
compressed 50x as ``wan26 generate --mock`` does for this profile); it runs ``generate`` for every job at once, spread
evenly over fal/r2v-flash (its SSE status stream), aimlapi/r2v, vtrix/r2v and dashscope/r2v (polling). Reported: wall
time from the first submit to the last result, the client's peak RSS (``VmHWM``; its RSS once everything is imported
and the client built is shown apart), CPU seconds of client and mock, the client's event-loop lag (how late a 10 ms
ticker wakes: what a blocking call such as a journal write costs every other job), requests sent, journal rows.

``--compare`` also runs variants of the client's HTTP connection pool (through the public ``http=`` argument), the
last one without a journal; ``--profile-client`` prints the client's top functions (cProfile). Targets, for the client
as built by default: <= 30 s and <= 300 MB (exit 1 when missed, unless ``--no-check``).

Why the pool matters: each fal job holds a connection for its SSE stream, so with httpx's default pool (100
connections) the other requests queue inside httpcore, whose ``AsyncConnectionPool._assign_requests_to_connections``
re-scans every queued request against every connection on each change (O(requests x connections): encode/httpcore
PR #1035, encode/httpx issue #3215), and hands one idle connection to several queued requests at once (the losers wait
for it: pydantic/httpx2 PR #1075), which with an unbounded pool can park a poll behind a whole SSE stream.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _common import PYTHON, cpu_seconds, emit, mib, percentile, start_server, table

PROVIDERS = ("fal/r2v-flash", "aimlapi/r2v", "vtrix/r2v", "dashscope/r2v")
REQUEST = {
    "prompt": "@cat waves at @dog",
    "references": [
        {"name": "cat", "source": "https://example.com/cat.mp4"},
        {"name": "dog", "source": "https://example.com/dog.mp4"},
    ],
    "duration": 5,
}
KEY = "mock-key"
FULL_JOBS, QUICK_JOBS = 1_000, 50
TARGET_WALL_S = 30.0
TARGET_RSS_BYTES = 300 * 10**6
CHILD_PREFIX = "CLIENT_RESULT "
CALL_SLOTS = 32  # the "split" pool: requests other than streams at once (and connections kept for them)

#: the client's HTTP setup in each variant: (label, what it is)
POOLS = {
    "default": "AsyncClient's own httpx client (httpx defaults: 100 connections, 20 kept alive)",
    "unbounded": "http=httpx.AsyncClient(limits=httpx.Limits(max_connections=None))",
    "split": f"streams on a pool of their own; other requests {CALL_SLOTS} at a time on {CALL_SLOTS} connections",
}


class SplitTransport(httpx.AsyncBaseTransport):
    """A sketch of a fix: SSE streams on a pool of their own, the other requests gated to the size of theirs.

    Gated, the requests never queue inside httpcore's pool; apart, a poll never waits behind a stream.
    """

    def __init__(self, slots: int = CALL_SLOTS) -> None:
        self.streams = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=None, max_keepalive_connections=0))
        self.calls = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=slots, max_keepalive_connections=slots))
        self.gate = asyncio.Semaphore(slots)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "text/event-stream" in request.headers.get("accept", ""):
            return await self.streams.handle_async_request(request)
        async with self.gate:
            return await self.calls.handle_async_request(request)

    async def aclose(self) -> None:
        await self.streams.aclose()
        await self.calls.aclose()


# --- the client process ----------------------------------------------------------------------------------------------
def _status_bytes(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {key}")


async def _ticker(lags: list[float], stop: asyncio.Event, period: float = 0.01) -> None:
    """How late a 10 ms sleep wakes up: the time the event loop spent on something else."""
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(period)
        lags.append(time.perf_counter() - before - period)


def _http(pool: str) -> httpx.AsyncClient | None:
    """The httpx client of a variant (None: the one AsyncClient builds); otherwise AsyncClient's own settings."""
    if pool == "unbounded":
        return httpx.AsyncClient(timeout=60.0, follow_redirects=True, limits=httpx.Limits(max_connections=None))
    if pool == "split":
        return httpx.AsyncClient(timeout=60.0, follow_redirects=True, transport=SplitTransport())
    return None


async def run_client(base_url: str, jobs: int, journal_dir: Path | None, pool: str) -> dict[str, Any]:
    from wan26core import AsyncClient
    from wan26core.cli._jobs import EMBEDDED_TIME_SCALE

    kinds: dict[str, int] = {}

    async def count(request: httpx.Request) -> None:
        kind = "submit" if request.method == "POST" else "stream" if request.url.path.endswith("/stream") else "get"
        kinds[kind] = kinds.get(kind, 0) + 1

    owners = {p.split("/")[0] for p in PROVIDERS}
    journal_path = journal_dir / "journal.sqlite3" if journal_dir is not None else None
    http = _http(pool)
    client = AsyncClient(
        keys=dict.fromkeys(owners, KEY),
        base_urls=dict.fromkeys(owners, base_url),
        journal=journal_path if journal_path is not None else False,
        http=http,
        time_scale=EMBEDDED_TIME_SCALE,  # the fast profile runs jobs ~50x quicker than the contracts' timing
    )
    client.http.event_hooks["request"].append(count)  # counts only: the httpx client keeps its settings
    for provider in PROVIDERS:  # contracts loaded before the clock starts (a one-off cost of any first job)
        client.endpoint(provider)
    ready_rss = _status_bytes("VmRSS")
    lags: list[float] = []
    stop = asyncio.Event()
    ticker = asyncio.create_task(_ticker(lags, stop))
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    began = time.monotonic()
    outcomes = await asyncio.gather(
        *(client.generate(REQUEST, PROVIDERS[n % len(PROVIDERS)]) for n in range(jobs)), return_exceptions=True
    )
    wall = time.monotonic() - began
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    stop.set()
    await ticker
    await client.aclose()
    if http is not None:
        await http.aclose()
    errors: dict[str, int] = {}
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            errors[type(outcome).__name__] = errors.get(type(outcome).__name__, 0) + 1
    rows = 0
    if journal_path is not None:
        with sqlite3.connect(journal_path) as db:
            tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            rows = sum(db.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in tables)
    lags.sort()
    return {
        "jobs": jobs,
        "pool": pool,
        "journal": journal_path is not None,
        "wall_s": wall,
        "succeeded": jobs - sum(errors.values()),
        "errors": errors,
        "requests": sum(kinds.values()),
        "requests_by_kind": kinds,
        "journal_rows": rows,
        "ready_rss_bytes": ready_rss,
        "peak_rss_bytes": _status_bytes("VmHWM"),
        "client_cpu_s": (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime),
        "loop_lag_p99_ms": percentile(lags, 0.99) * 1000,
        "loop_lag_max_ms": (lags[-1] if lags else 0.0) * 1000,
    }


def child(args: argparse.Namespace) -> int:
    journal_dir = None if args.no_journal else Path(tempfile.mkdtemp(prefix="wan26-bench-journal-"))
    run = run_client(args.base_url, args.jobs, journal_dir, args.pool)
    if args.profile_client:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        result = profiler.runcall(asyncio.run, run)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    else:
        result = asyncio.run(run)
    if journal_dir is not None:
        for path in journal_dir.iterdir():
            path.unlink()
        journal_dir.rmdir()
    print(CHILD_PREFIX + json.dumps(result), flush=True)
    return 0


# --- the parent: mock, client processes, figures ---------------------------------------------------------------------
def run_child(base_url: str, jobs: int, *, pool: str = "default", journal: bool = True, profile: bool = False) -> dict[str, Any]:
    command = [PYTHON, str(Path(__file__).resolve()), "--child", "--base-url", base_url, "--jobs", str(jobs), "--pool", pool]
    command += ["--no-journal"] * (not journal) + ["--profile-client"] * profile
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if profile:
        sys.stdout.write(done.stderr)
    lines = [line for line in done.stdout.splitlines() if line.startswith(CHILD_PREFIX)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"the client process failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    return dict(json.loads(lines[-1][len(CHILD_PREFIX) :]))


def measure(jobs: int, *, compare: bool, profile: bool, pure: bool) -> dict[str, Any]:
    variants: list[dict[str, Any]] = [{"profile": profile}]
    if compare:
        variants += [{"pool": "unbounded"}, {"pool": "split"}, {"pool": "split", "journal": False}]
    server = start_server("--seed", "1", "--profile", "fast", *(["--pure"] if pure else []))
    runs = []
    try:
        for variant in variants:
            mock_cpu = cpu_seconds(server.pid)
            runs.append(run_child(server.base_url, jobs, **variant))
            runs[-1]["mock_cpu_s"] = cpu_seconds(server.pid) - mock_cpu
    finally:
        server.stop()
    main = runs[0]
    return {
        "jobs": jobs,
        "providers": list(PROVIDERS),
        "cores": os.cpu_count(),
        "server_impl": server.impl,
        "pools": POOLS,
        "runs": runs,
        "wall_s": main["wall_s"],
        "peak_rss_bytes": main["peak_rss_bytes"],
        "target_wall_s": TARGET_WALL_S,
        "target_rss_bytes": TARGET_RSS_BYTES,
        "ok": main["succeeded"] == jobs and main["wall_s"] <= TARGET_WALL_S and main["peak_rss_bytes"] <= TARGET_RSS_BYTES,
    }


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _label(run: dict[str, Any]) -> str:
    return f"pool {run['pool']}" + ("" if run["journal"] else ", no journal")


def render(result: dict[str, Any]) -> str:
    main = result["runs"][0]
    rows = [
        [
            f"{result['jobs']:,} concurrent jobs, AsyncClient as built by default: wall, first submit to last result",
            f"{main['wall_s']:.1f} s",
            f"<= {TARGET_WALL_S:.0f} s",
            _verdict(main["succeeded"] == result["jobs"] and main["wall_s"] <= TARGET_WALL_S),
        ],
        [
            f"client peak RSS (ready, before the jobs: {mib(main['ready_rss_bytes'])})",
            mib(main["peak_rss_bytes"]),
            f"<= {TARGET_RSS_BYTES / 1e6:.0f} MB",
            _verdict(main["peak_rss_bytes"] <= TARGET_RSS_BYTES),
        ],
    ]
    header = ["variant", "ok/jobs", "wall s", "peak RSS", "CPU s client/mock", "requests", "journal rows", "loop lag max"]
    detail = []
    for run in result["runs"]:
        kinds = run["requests_by_kind"]
        detail.append(
            [
                _label(run),
                f"{run['succeeded']:,}/{run['jobs']:,}" + (f" {run['errors']}" if run["errors"] else ""),
                f"{run['wall_s']:.1f}",
                mib(run["peak_rss_bytes"]),
                f"{run['client_cpu_s']:.1f} / {run['mock_cpu_s']:.1f}",
                f"{run['requests']:,} ({kinds.get('submit', 0)} POST, {kinds.get('stream', 0)} SSE, {kinds.get('get', 0)} GET)",
                f"{run['journal_rows']:,}",
                f"{run['loop_lag_max_ms']:.0f} ms",
            ]
        )
    title = (
        f"wan26 AsyncClient under load: {result['jobs']:,} jobs spread over {len(result['providers'])} providers, mock"
        f" --profile fast in its own process ({result['server_impl']}), {result['cores']} cores"
    )
    pools = [f"  pool {name}: {what}" for name, what in result["pools"].items() if any(r["pool"] == name for r in result["runs"])]
    return "\n".join([title, table(rows, ["figure", "measured", "target", ""]), "", table(detail, header), *pools])


def run_all_rows(result: dict[str, Any]) -> list[list[str]]:
    """This benchmark's rows in ``bench/run_all.py``'s table."""
    main = result["runs"][0]
    return [
        [
            f"client: {result['jobs']:,} concurrent jobs, wall ({main['succeeded']:,} succeeded)",
            f"{main['wall_s']:.1f} s",
            f"<= {TARGET_WALL_S:.0f} s",
            _verdict(main["succeeded"] == result["jobs"] and main["wall_s"] <= TARGET_WALL_S),
        ],
        [
            f"client: peak RSS with {result['jobs']:,} jobs",
            mib(main["peak_rss_bytes"]),
            f"<= {TARGET_RSS_BYTES / 1e6:.0f} MB",
            _verdict(main["peak_rss_bytes"] <= TARGET_RSS_BYTES),
        ],
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/client_concurrency.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_JOBS} jobs (CI)")
    parser.add_argument("--jobs", type=int, default=None, help=f"concurrent jobs (default {FULL_JOBS:,})")
    parser.add_argument("--compare", action="store_true", help="also run other connection pools, and one without a journal")
    parser.add_argument("--profile-client", action="store_true", help="print the client's top functions (cProfile)")
    parser.add_argument("--no-check", action="store_true", help="exit 0 even when a target is missed")
    parser.add_argument("--pure", action="store_true", help="mock without uvloop/httptools")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--pool", choices=sorted(POOLS), default="default", help=argparse.SUPPRESS)
    parser.add_argument("--no-journal", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    jobs = args.jobs or (QUICK_JOBS if args.quick else FULL_JOBS)
    result = measure(jobs, compare=args.compare, profile=args.profile_client, pure=args.pure)
    print(render(result))
    emit(result)
    return 0 if result["ok"] or args.no_check or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
