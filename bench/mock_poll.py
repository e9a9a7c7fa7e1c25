"""Status-poll throughput and latency of the mock against a bare Starlette endpoint, on loopback.

The real mock (``wan26 mock serve``'s app, jobs kept in flight) and, per polled provider, a bare Starlette endpoint
returning that provider's status body as a constant run as separate uvicorn processes with one configuration. A
load generator in its own process (wrk when installed, else ``bench/_loadgen.py``) holds 64 keep-alive connections
against each in turn, alternating over several rounds; the figures are the rounds' medians. Target: the mock's
requests/s at least 0.8x the bare endpoint's (exit 1 when missed, unless ``--no-check``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

import httpx
from _common import (
    DASHSCOPE,
    FAL,
    HERE,
    IN_FLIGHT_ARGS,
    PYTHON,
    Server,
    Workload,
    cpu_seconds,
    emit,
    in_flight,
    median,
    start_server,
    submit_one,
    table,
)

TARGET = 0.8
_WRK_LUA = """
local paths = {%(paths)s}
local i = 0
%(headers)s
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_RESULT {"requests": %%d, "us": %%d, "errors": %%d, "p50_us": %%d, "p99_us": %%d, "max_us": %%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def run_wrk(
    url: str, paths: list[str], headers: dict[str, str], connections: int, warmup: float, duration: float
) -> dict[str, Any]:
    lua = _WRK_LUA % {
        "paths": ", ".join(json.dumps(p) for p in paths),
        "headers": "\n".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()),
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    try:
        if warmup >= 0.5:  # wrk measures whole seconds only
            _spawn(["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(warmup))}s", "-s", script.name, url])
        out, cpu, wall = _spawn(["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "-s", script.name, url])
    finally:
        os.unlink(script.name)
    line = next((x for x in out.splitlines() if x.startswith("WRK_RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    raw = json.loads(line[len("WRK_RESULT ") :])
    seconds = raw.pop("us") / 1e6
    return {**raw, "seconds": seconds, "loadgen_cpu": cpu / wall}


def run_python(
    url: str, paths: list[str], headers: dict[str, str], connections: int, warmup: float, duration: float
) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
        listing.write("\n".join(paths))
    try:
        command = [PYTHON, str(HERE / "_loadgen.py"), url, listing.name, "-c", str(connections)]
        command += ["--warmup", str(warmup), "-d", str(duration)]
        command += [arg for k, v in headers.items() for arg in ("--header", f"{k}: {v}")]
        out, cpu, wall = _spawn(command)
    finally:
        os.unlink(listing.name)
    return {**json.loads(out.strip().splitlines()[-1]), "loadgen_cpu": cpu / wall}


def _spawn(command: list[str]) -> tuple[str, float, float]:
    """Run ``command``; its output, the CPU seconds it used (from wait4's rusage) and its wall time."""
    began = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{command[0]} exited {process.returncode}:\n{out}")
    return out, usage.ru_utime + usage.ru_stime, time.monotonic() - began


def measure(
    server: Server, paths: list[str], headers: dict[str, str], loadgen: str, connections: int, warmup: float, duration: float
) -> dict[str, Any]:
    runner = run_wrk if loadgen == "wrk" else run_python
    cpu_before, began = cpu_seconds(server.pid), time.monotonic()
    figures = runner(server.base_url, paths, headers, connections, warmup, duration)
    figures["server_cpu"] = (cpu_seconds(server.pid) - cpu_before) / (time.monotonic() - began)
    figures["rps"] = figures["requests"] / figures["seconds"]
    if figures["errors"]:
        raise RuntimeError(f"{figures['errors']} failed requests against {server.base_url}{paths[0]}")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/mock_poll.py", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a bounded run of a few seconds (CI); implies --no-check")
    parser.add_argument("--no-check", action="store_true", help="exit 0 even when the target is missed")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto", help="auto: wrk when on PATH")
    parser.add_argument("--pure", action="store_true", help="both servers without uvloop/httptools (asyncio + h11)")
    parser.add_argument("-c", "--connections", type=int, default=64)
    parser.add_argument("-d", "--duration", type=float, default=5.0, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; figures are their medians")
    parser.add_argument("--jobs", type=int, default=200, help="in-flight jobs polled round-robin, per provider")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.rounds, args.jobs, args.no_check = 1.0, 0.3, 1, 20, True
    loadgen = args.loadgen
    if loadgen == "auto":
        loadgen = "wrk" if shutil.which("wrk") else "python"
    if loadgen == "wrk" and not shutil.which("wrk"):
        parser.error("--loadgen wrk: wrk is not on PATH (apt-get install wrk)")
    extra = ("--pure",) if args.pure else ()

    workloads: list[Workload] = [FAL, DASHSCOPE]
    servers: list[Server] = []
    try:
        mock = start_server(*IN_FLIGHT_ARGS, *extra)
        servers.append(mock)
        paths: dict[str, list[str]] = {}
        last_ids: dict[str, str] = {}
        bares: dict[str, Server] = {}
        sizes: dict[str, int] = {}
        with httpx.Client(base_url=mock.base_url, timeout=30) as client:
            for workload in workloads:
                ids = [submit_one(client, workload) for _ in range(args.jobs)]
                paths[workload.name] = [workload.status_path.format(id=i) for i in ids]
                last_ids[workload.name] = ids[-1]
                sample = in_flight(client, workload, ids[0])
                sizes[workload.name] = len(json.dumps(sample, separators=(",", ":")))
                with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as body:
                    json.dump(sample, body)
                try:
                    bare = start_server("--bare", body.name, *extra)
                finally:
                    os.unlink(body.name)
                servers.append(bare)
                bares[workload.name] = bare
        runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for _ in range(args.rounds):
            for workload in workloads:
                for kind, server in (("bare", bares[workload.name]), ("mock", mock)):
                    figures = measure(
                        server, paths[workload.name], workload.headers, loadgen, args.connections, args.warmup, args.duration
                    )
                    runs.setdefault((workload.name, kind), []).append(figures)
        with httpx.Client(base_url=mock.base_url, timeout=30) as client:
            for workload in workloads:  # the polls above saw jobs in flight, not finished ones
                in_flight(client, workload, last_ids[workload.name])
    finally:
        for server in servers:
            server.stop()

    result: dict[str, Any] = {
        "benchmark": "mock_poll",
        "loadgen": loadgen,
        "server_impl": mock.impl,
        "connections": args.connections,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "target_ratio": TARGET,
        "providers": {},
    }
    rows = []
    ok = True
    for workload in workloads:
        entry: dict[str, Any] = {"body_bytes": sizes[workload.name]}
        for kind in ("bare", "mock"):
            series = runs[(workload.name, kind)]
            entry[kind] = {
                key: median([r[key] for r in series]) for key in ("rps", "p50_us", "p99_us", "server_cpu", "loadgen_cpu")
            }
        entry["ratio"] = entry["mock"]["rps"] / entry["bare"]["rps"]
        entry["p99_ratio"] = entry["bare"]["p99_us"] / entry["mock"]["p99_us"]
        ok = ok and entry["ratio"] >= TARGET
        result["providers"][workload.name] = entry
        for kind in ("bare", "mock"):
            f = entry[kind]
            rows.append(
                [
                    f"{workload.name} {kind}",
                    f"{f['rps']:.0f}",
                    f"{f['p50_us'] / 1000:.2f}",
                    f"{f['p99_us'] / 1000:.2f}",
                    f"{f['server_cpu']:.0%}",
                    f"{f['loadgen_cpu']:.0%}",
                    f"{entry['ratio']:.2f}x" if kind == "mock" else "",
                ]
            )
    result["ok"] = ok
    print(
        f"status polls on loopback: {args.connections} keep-alive connections, load from {loadgen} in its own process, "
        f"uvicorn {mock.impl}; median of {args.rounds} round(s) of {args.duration:g}s"
    )
    print(table(rows, ["target", "req/s", "p50 ms", "p99 ms", "server cpu", "loadgen cpu", "ratio"]))
    starved = min(e[k]["server_cpu"] for e in result["providers"].values() for k in ("bare", "mock"))
    result["min_server_cpu"] = starved
    if starved < 0.85:
        print(f"warning: a server had only {starved:.0%} of a core in some run: other processes disturbed these figures")
    print(f"target: mock >= {TARGET}x the bare endpoint's req/s: {'met' if ok else 'MISSED'}")
    emit(result)
    return 0 if ok or args.no_check else 1


if __name__ == "__main__":
    sys.exit(main())
