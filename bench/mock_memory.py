"""Resident memory of one mock process holding 10,000 jobs in flight.

Starts the real mock (``wan26 mock serve``'s app under uvicorn, realistic timings slowed 1000x so nothing finishes),
reads its RSS when idle, submits the jobs over HTTP round-robin across the four providers, checks that they are all
still in flight, and reads the RSS again. The request journal is full (10,000 entries) by then, as it would be in
a long CI run. Target: RSS <= 150 MB with 10,000 jobs (exit 1 when missed, unless ``--no-check``).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from typing import Any

import httpx
from _common import (
    IN_FLIGHT_ARGS,
    WORKLOADS,
    Workload,
    emit,
    exchange,
    in_flight,
    mib,
    peak_rss_bytes,
    raw_request,
    rss_bytes,
    start_server,
    table,
)

TARGET_BYTES = 150 * 10**6  # "150 MB"
FULL_JOBS = 10_000


def submit_all(base_url: str, jobs: int, connections: int) -> dict[str, str]:
    """Submit ``jobs`` jobs round-robin over the providers; one job id per provider (to check on later)."""
    plan = list(itertools.islice(itertools.cycle(WORKLOADS.values()), jobs))
    raw = {w.name: raw_request(w, base_url) for w in WORKLOADS.values()}
    answers = asyncio.run(exchange(base_url, [raw[w.name] for w in plan], connections))
    samples: dict[str, str] = {}
    for workload, (status, body) in zip(plan, answers, strict=True):
        if status >= 300:
            raise RuntimeError(f"{workload.name}: submit answered {status}: {body[:300]!r}")
        samples[workload.name] = workload.job_id(json.loads(body))
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/mock_memory.py", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"1,000 jobs instead of {FULL_JOBS:,} (CI); implies --no-check")
    parser.add_argument("--no-check", action="store_true", help="exit 0 even when the target is missed")
    parser.add_argument("--jobs", type=int, default=FULL_JOBS)
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections submitting at once")
    parser.add_argument("--pure", action="store_true", help="serve without uvloop/httptools (asyncio + h11)")
    args = parser.parse_args(argv)
    if args.quick:
        args.jobs, args.no_check = 1_000, True
    server = start_server(*IN_FLIGHT_ARGS, *(("--pure",) if args.pure else ()))
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            health = client.get("/__wan26__/health").json()
            time.sleep(0.5)
            idle = rss_bytes(server.pid)
            began = time.monotonic()
            samples = submit_all(server.base_url, args.jobs, args.connections)
            submit_s = time.monotonic() - began
            health = client.get("/__wan26__/health").json()
            if health["jobs"] != args.jobs:
                raise RuntimeError(f"the mock holds {health['jobs']} jobs, expected {args.jobs}")
            for name, job_id in samples.items():  # raises if any job already finished
                workload: Workload = WORKLOADS[name]
                in_flight(client, workload, job_id)
            loaded = rss_bytes(server.pid)
            peak = peak_rss_bytes(server.pid)
    finally:
        server.stop()
    per_job = (loaded - idle) / args.jobs
    ok = loaded <= TARGET_BYTES
    result: dict[str, Any] = {
        "benchmark": "mock_memory",
        "jobs": args.jobs,
        "server_impl": server.impl,
        "idle_rss_bytes": idle,
        "loaded_rss_bytes": loaded,
        "peak_rss_bytes": peak,
        "bytes_per_job": per_job,
        "projected_10k_rss_bytes": idle + per_job * FULL_JOBS,
        "submit_rate": args.jobs / submit_s,
        "target_bytes": TARGET_BYTES,
        "ok": ok,
    }
    print(f"one mock process (uvicorn {server.impl}), {args.jobs:,} jobs in flight across {len(WORKLOADS)} providers")
    rows = [
        ["idle mock", mib(idle)],
        [f"with {args.jobs:,} jobs in flight", mib(loaded)],
        ["peak (VmHWM)", mib(peak)],
        ["per job (incl. its journal entry)", f"{per_job / 1024:.1f} KiB"],
        [f"projected for {FULL_JOBS:,} jobs", mib(result["projected_10k_rss_bytes"])],
        ["submits/s while loading", f"{result['submit_rate']:.0f}"],
    ]
    print(table(rows, ["resident memory", "value"]))
    print(f"target: RSS <= {TARGET_BYTES / 1e6:.0f} MB with {args.jobs:,} jobs: {'met' if ok else 'MISSED'}")
    emit(result)
    return 0 if ok or args.no_check else 1


if __name__ == "__main__":
    sys.exit(main())
