"""The wan26 mock beside aimock and a bare Starlette endpoint, in one run, on fal's status-poll route.

Three servers, each one process on loopback: the wan26 mock (``wan26 mock serve``'s app, fal jobs kept in flight),
a bare Starlette endpoint returning that status body as a constant under the same ``serve()`` (uvloop + httptools
when installed), and aimock (``@copilotkit/aimock`` from npm, one node process, installed on first use into a cache
folder; see ``bench/_aimock.py``) answering the same fal route. One load generator (wrk when on PATH, else
``bench/_loadgen.py``) in its own process holds 64 keep-alive connections against each in turn, alternating over
several rounds; figures are the rounds' medians. Targets: wan26 >= 1.2x aimock's req/s with a lower p99, and
>= 0.8x the bare endpoint's req/s (exit 1 when missed, unless ``--no-check``). Without node/npm (or with
``--no-install`` and nothing installed) the aimock part is skipped, and the report says so.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
from _aimock import AIMOCK_VERSION, HEADERS, STATUS_PATH, default_dir, ensure_installed, start_aimock, submit_jobs
from _common import FAL, IN_FLIGHT_ARGS, Server, emit, in_flight, median, start_server, submit_one, table
from mock_poll import measure

VS_AIMOCK = 1.2  # wan26 req/s over aimock's
VS_BARE = 0.8  # wan26 req/s over bare Starlette's on the same server stack
KEYS = ("rps", "p50_us", "p99_us", "server_cpu", "loadgen_cpu")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/mock_aimock.py", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a bounded run of a few seconds (CI); implies --no-check")
    parser.add_argument("--no-check", action="store_true", help="exit 0 even when a target is missed")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto", help="auto: wrk when on PATH")
    parser.add_argument("--pure", action="store_true", help="the Python servers without uvloop/httptools (asyncio + h11)")
    parser.add_argument("-c", "--connections", type=int, default=64)
    parser.add_argument("-d", "--duration", type=float, default=5.0, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; figures are their medians")
    parser.add_argument("--jobs", type=int, default=200, help="in-flight jobs polled round-robin, per server")
    parser.add_argument("--aimock-version", default=AIMOCK_VERSION)
    parser.add_argument("--aimock-dir", type=Path, help="where aimock is (or gets) installed (default: a temp folder)")
    parser.add_argument("--no-install", action="store_true", help="use an installed aimock only; never run npm")
    args = parser.parse_args(argv)
    if args.quick:
        # a second of warm-up even so: node compiles aimock's hot path in its first second (it answers 2-4x slower then)
        args.duration, args.warmup, args.rounds, args.jobs, args.no_check = 1.0, 1.0, 1, 20, True
    loadgen = args.loadgen
    if loadgen == "auto":
        loadgen = "wrk" if shutil.which("wrk") else "python"
    if loadgen == "wrk" and not shutil.which("wrk"):
        parser.error("--loadgen wrk: wrk is not on PATH (apt-get install wrk)")
    extra = ("--pure",) if args.pure else ()
    cli, skipped = ensure_installed(
        args.aimock_dir or default_dir(args.aimock_version), args.aimock_version, install=not args.no_install
    )
    if cli is None:
        print(f"aimock: SKIPPED ({skipped}); measuring wan26 and bare Starlette only", flush=True)

    servers: dict[str, Server] = {}
    paths: dict[str, list[str]] = {}
    headers: dict[str, dict[str, str]] = {}
    body_bytes = 0
    try:
        servers["wan26"] = start_server(*IN_FLIGHT_ARGS, *extra)
        with httpx.Client(base_url=servers["wan26"].base_url, timeout=30) as client:
            ids = [submit_one(client, FAL) for _ in range(args.jobs)]
            sample = in_flight(client, FAL, ids[0])
        paths["wan26"], headers["wan26"] = [FAL.status_path.format(id=i) for i in ids], FAL.headers
        body_bytes = len(json.dumps(sample, separators=(",", ":")))
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as body:
            json.dump(sample, body)
        try:
            servers["bare"] = start_server("--bare", body.name, *extra)
        finally:
            os.unlink(body.name)
        paths["bare"], headers["bare"] = paths["wan26"], FAL.headers
        if cli is not None:
            servers["aimock"] = start_aimock(cli, args.aimock_version)
            paths["aimock"] = [STATUS_PATH.format(id=i) for i in submit_jobs(servers["aimock"], args.jobs)]
            headers["aimock"] = HEADERS
        runs: dict[str, list[dict[str, Any]]] = {}
        for _ in range(args.rounds):
            for name, server in servers.items():
                figures = measure(server, paths[name], headers[name], loadgen, args.connections, args.warmup, args.duration)
                runs.setdefault(name, []).append(figures)
        with httpx.Client(base_url=servers["wan26"].base_url, timeout=30) as client:
            in_flight(client, FAL, ids[-1])  # the polls above saw jobs in flight, not finished ones
    finally:
        for server in servers.values():
            server.stop()

    figures = {name: {key: median([r[key] for r in series]) for key in KEYS} for name, series in runs.items()}
    for name, series in runs.items():  # CPU time per answer: what other processes on the machine disturb least
        figures[name]["cpu_us_per_request"] = median([r["server_cpu"] / r["rps"] * 1e6 for r in series])
    impl = {name: server.impl for name, server in servers.items()}
    ratios: dict[str, Any] = {
        "wan26_vs_bare_rps": figures["wan26"]["rps"] / figures["bare"]["rps"],
        # the same comparison by CPU time per answer (not a target: a reading that a busy machine disturbs less)
        "bare_vs_wan26_cpu_per_request": figures["bare"]["cpu_us_per_request"] / figures["wan26"]["cpu_us_per_request"],
    }
    checks = {"wan26_vs_bare_rps": ratios["wan26_vs_bare_rps"] >= VS_BARE}
    if "aimock" in figures:
        ratios["wan26_vs_aimock_rps"] = figures["wan26"]["rps"] / figures["aimock"]["rps"]
        ratios["aimock_vs_wan26_p99"] = figures["aimock"]["p99_us"] / figures["wan26"]["p99_us"]
        checks["wan26_vs_aimock_rps"] = ratios["wan26_vs_aimock_rps"] >= VS_AIMOCK
        checks["aimock_vs_wan26_p99"] = figures["wan26"]["p99_us"] < figures["aimock"]["p99_us"]
    ok = all(checks.values())
    result: dict[str, Any] = {
        "benchmark": "mock_aimock",
        "loadgen": loadgen,
        "connections": args.connections,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "body_bytes": body_bytes,
        "servers": figures,
        "impl": impl,
        "ratios": ratios,
        "checks": checks,
        "targets": {"wan26_vs_aimock_rps": VS_AIMOCK, "wan26_vs_bare_rps": VS_BARE},
        "aimock": {"version": args.aimock_version, "skipped": skipped or None},
        "ok": ok,
    }
    print(
        f"fal status polls (GET …/requests/{{id}}/status?logs=1) on loopback: {args.connections} keep-alive connections, "
        f"load from {loadgen} in its own process; median of {args.rounds} round(s) of {args.duration:g}s"
    )
    rows = [
        [
            f"{name} ({impl[name]})",
            f"{f['rps']:.0f}",
            f"{f['p50_us'] / 1000:.2f}",
            f"{f['p99_us'] / 1000:.2f}",
            f"{f['server_cpu']:.0%}",
            f"{f['cpu_us_per_request']:.1f}",
            f"{f['loadgen_cpu']:.0%}",
        ]
        for name, f in figures.items()
    ]
    print(table(rows, ["server", "req/s", "p50 ms", "p99 ms", "server cpu", "cpu us/req", "loadgen cpu"]))
    print(_verdicts(ratios, checks, skipped))
    emit(result)
    return 0 if ok or args.no_check else 1


def _verdicts(ratios: dict[str, float], checks: dict[str, bool], skipped: str) -> str:
    def verdict(key: str) -> str:
        return "met" if checks[key] else "MISSED"

    lines = []
    if "wan26_vs_aimock_rps" in ratios:
        rps = ratios["wan26_vs_aimock_rps"]
        lines.append(f"wan26 / aimock req/s: {rps:.2f}x (target >= {VS_AIMOCK}x): {verdict('wan26_vs_aimock_rps')}")
        lines.append(
            f"aimock / wan26 p99: {ratios['aimock_vs_wan26_p99']:.2f}x (target: wan26's p99 lower, > 1x): "
            f"{verdict('aimock_vs_wan26_p99')}"
        )
    else:
        lines.append(f"wan26 / aimock: not measured (aimock skipped: {skipped})")
    lines.append(
        f"wan26 / bare Starlette req/s: {ratios['wan26_vs_bare_rps']:.2f}x (target >= {VS_BARE}x): {verdict('wan26_vs_bare_rps')}"
    )
    lines.append(
        f"  the same by CPU time per answer, bare / wan26: {ratios['bare_vs_wan26_cpu_per_request']:.2f}x "
        "(disturbed less by other processes; not a target)"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
