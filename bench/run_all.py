"""Run every benchmark of bench/ and print one table of their figures.

``python bench/run_all.py`` runs the full forms (a few minutes: the last, ``suite_time``, runs the whole test suite)
and exits 1 when a target is missed; ``--quick`` runs the bounded forms (seconds each, for CI) and never fails on a
figure, only on a broken benchmark.
Each benchmark runs in its own process; its own report is shown with ``--verbose``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from _common import HERE, PYTHON, RESULT_PREFIX, mib, table
from client_concurrency import run_all_rows as client_concurrency_rows
from client_requests import run_all_rows as client_requests_rows
from reliability_figures import rows as reliability_rows
from suite_time import rows as suite_time_rows

Row = list[str]


def _poll_rows(r: dict[str, Any]) -> list[Row]:
    rows = []
    for name, p in r["providers"].items():
        bare, mock = p["bare"], p["mock"]
        rows.append(
            [
                f"status poll {name}: req/s mock / bare ({r['connections']} conns, {r['loadgen']}, {r['server_impl']})",
                f"{mock['rps']:.0f} / {bare['rps']:.0f} = {p['ratio']:.2f}x",
                f">= {r['target_ratio']}x",
                _verdict(p["ratio"] >= r["target_ratio"]),
            ]
        )
        latency = f"{mock['p50_us'] / 1000:.1f} / {mock['p99_us'] / 1000:.1f}"
        baseline = f"{bare['p50_us'] / 1000:.1f} / {bare['p99_us'] / 1000:.1f}"
        rows.append([f"status poll {name}: p50 / p99 ms, mock (bare)", f"{latency} ({baseline})", "", ""])
    return rows


def _aimock_rows(r: dict[str, Any]) -> list[Row]:
    servers, ratios, checks, targets = r["servers"], r["ratios"], r["checks"], r["targets"]
    setup = f"{r['connections']} conns, {r['loadgen']}"
    rows = [
        [
            f"fal status poll, {name} ({r['impl'][name]}): req/s, p99 ms",
            f"{f['rps']:.0f}, {f['p99_us'] / 1000:.1f}",
            "",
            "",
        ]
        for name, f in servers.items()
    ]
    if "wan26_vs_aimock_rps" in ratios:
        rows.append(
            [
                f"fal status poll: req/s wan26 / aimock ({setup})",
                f"{ratios['wan26_vs_aimock_rps']:.2f}x",
                f">= {targets['wan26_vs_aimock_rps']}x",
                _verdict(checks["wan26_vs_aimock_rps"]),
            ]
        )
        rows.append(
            [
                "fal status poll: p99 aimock / wan26",
                f"{ratios['aimock_vs_wan26_p99']:.2f}x",
                "> 1x",
                _verdict(checks["aimock_vs_wan26_p99"]),
            ]
        )
    else:
        rows.append([f"fal status poll: wan26 / aimock: aimock SKIPPED ({r['aimock']['skipped']})", "", "", ""])
    rows.append(
        [
            f"fal status poll: req/s wan26 / bare Starlette, same stack ({setup})",
            f"{ratios['wan26_vs_bare_rps']:.2f}x",
            f">= {targets['wan26_vs_bare_rps']}x",
            _verdict(checks["wan26_vs_bare_rps"]),
        ]
    )
    if "bare_vs_wan26_cpu_per_request" in ratios:  # a reading other processes disturb less; not a target
        cpu = ratios["bare_vs_wan26_cpu_per_request"]
        rows.append(["fal status poll: CPU time per answer, bare / wan26", f"{cpu:.2f}x", "", ""])
    return rows


def _memory_rows(r: dict[str, Any]) -> list[Row]:
    return [
        ["mock RSS, idle", mib(r["idle_rss_bytes"]), "", ""],
        [
            f"mock RSS, {r['jobs']:,} jobs in flight ({r['bytes_per_job'] / 1024:.1f} KiB/job)",
            mib(r["loaded_rss_bytes"]),
            f"<= {r['target_bytes'] / 1e6:.0f} MB",
            _verdict(r["ok"]),
        ],
    ]


def _sse_rows(r: dict[str, Any]) -> list[Row]:
    return [
        [
            f"SSE status streams held at once (server CPU {r['hold_server_cpu']:.1%} while held)",
            f"{r['held']:,} / {r['streams']:,}",
            f"{r['streams']:,}, all COMPLETED",
            _verdict(r["ok"]),
        ],
        [
            "SSE: RSS per stream; open all; clock jump -> all closed",
            f"{r['bytes_per_stream'] / 1024:.0f} KiB; {r['all_open_s']:.2f} s; {r['all_closed_s']:.2f} s",
            "",
            "",
        ],
    ]


BENCHMARKS: list[tuple[str, Callable[[dict[str, Any]], list[Row]]]] = [
    ("mock_poll.py", _poll_rows),
    ("mock_aimock.py", _aimock_rows),
    ("mock_memory.py", _memory_rows),
    ("mock_sse.py", _sse_rows),
    ("client_requests.py", client_requests_rows),
    ("client_concurrency.py", client_concurrency_rows),
    ("reliability_figures.py", reliability_rows),
    ("suite_time.py", suite_time_rows),
]


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run_all.py", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="bounded forms, seconds each (CI)")
    parser.add_argument("--no-check", action="store_true", help="exit 0 even when a target is missed")
    parser.add_argument("--pure", action="store_true", help="servers without uvloop/httptools (asyncio + h11)")
    parser.add_argument("--only", action="append", help="run only this benchmark (e.g. mock_poll); repeatable")
    parser.add_argument("-v", "--verbose", action="store_true", help="show each benchmark's own report")
    parser.add_argument("--json", action="store_true", help="print the collected results as JSON after the table")
    args = parser.parse_args(argv)
    flags = [f for f, on in (("--quick", args.quick), ("--no-check", True), ("--pure", args.pure)) if on]
    rows: list[Row] = []
    results: dict[str, Any] = {}
    broken = []
    for script, summarise in BENCHMARKS:
        name = script.removesuffix(".py")
        if args.only and name not in args.only:
            continue
        began = time.monotonic()
        done = subprocess.run([PYTHON, str(HERE / script), *flags], capture_output=True, text=True)
        lines = [x for x in done.stdout.splitlines() if x.startswith(RESULT_PREFIX)]
        if args.verbose or done.returncode != 0 or not lines:
            sys.stdout.write(done.stdout + done.stderr)
        if done.returncode != 0 or not lines:
            broken.append(name)
            rows.append([f"{name}: did not run (exit {done.returncode})", "", "", "BROKEN"])
            continue
        result = json.loads(lines[-1][len(RESULT_PREFIX) :])
        result["wall_s"] = time.monotonic() - began
        results[name] = result
        rows.extend(summarise(result))
    print(f"wan26 benchmarks ({'quick' if args.quick else 'full'} form)")
    print(table(rows, ["figure", "measured", "target", ""]))
    if args.json:
        print(json.dumps(results, indent=2, sort_keys=True))
    missed = [name for name, r in results.items() if not r.get("ok", True)]
    if broken:
        return 2
    return 1 if missed and not (args.quick or args.no_check) else 0


if __name__ == "__main__":
    sys.exit(main())
