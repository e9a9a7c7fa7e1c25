"""The reliability suites' figures: mixed-fault survival, crash and resume, and the mock's memory under a huge body.

Runs ``pytest tests/reliability`` (full: ``WAN26_SUITE=full``, every suite with 200 jobs per provider and 56 crash
runs; ``--quick``: the bounded fault-survival, crash and memory tests only, seconds) with
``WAN26_RELIABILITY_REPORT`` set, and prints the figures the suites wrote. Targets: no job lost, no job accepted twice,
every failure classified (class and native code), every crash recovered or flagged ``unknown``, the mock's peak RSS
growing by less than 16 MiB for a 65 MiB body announced by Content-Length. The suites assert the same, so a missed
target is also a failed test (exit 1 unless ``--no-check``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import HERE, PYTHON, emit, table

TESTS = HERE.parent / "tests" / "reliability"
QUICK_SELECTION = (
    "test_fault_survival.py",
    "test_crash_resume.py",
    "test_hostile_mock.py::test_bodies_over_the_limit_are_refused_natively_and_memory_stays_bounded",
)
MEMORY_TARGET_MIB = 16.0


def run(quick: bool) -> tuple[int, float, list[dict[str, Any]], str]:
    """(pytest's exit status, wall seconds, the figures, pytest's output)."""
    fd, name = tempfile.mkstemp(prefix="wan26-reliability-", suffix=".jsonl")
    os.close(fd)
    report = Path(name)
    env = {**os.environ, "WAN26_RELIABILITY_REPORT": str(report), "WAN26_SUITE": "bounded" if quick else "full"}
    selection = [str(TESTS / item) for item in QUICK_SELECTION] if quick else [str(TESTS)]
    began = time.monotonic()
    done = subprocess.run(
        [PYTHON, "-m", "pytest", *selection, "-q", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tempfile.gettempdir(),
    )
    wall = time.monotonic() - began
    try:
        figures = [json.loads(line) for line in report.read_text().splitlines() if line.strip()]
    finally:
        report.unlink(missing_ok=True)
    return done.returncode, wall, figures, done.stdout + done.stderr


def summarise(figures: list[dict[str, Any]]) -> dict[str, Any]:
    faults = [f for f in figures if f["suite"] == "fault_survival"]
    crashes = [f for f in figures if f["suite"] == "crash_resume"]
    memory = [f for f in figures if f["suite"] == "hostile_memory"]
    ok = bool(faults) and all(f["lost"] == 0 and f["duplicates"] == 0 and f["misclassified"] == 0 for f in faults)
    ok = ok and bool(crashes) and all(c["lost"] == 0 for c in crashes)
    ok = ok and bool(memory) and all(m["announced_growth_mib"] < MEMORY_TARGET_MIB for m in memory)
    return {"faults": faults, "crashes": crashes, "memory": memory, "ok": ok}


def rows(result: dict[str, Any]) -> list[list[str]]:
    """This benchmark's rows in ``bench/run_all.py``'s table."""
    out = []
    for f in result["faults"]:
        out.append(
            [
                f"faults {f['provider']}: jobs, faulted requests ({f['fault_rate']:.0%}); lost / twice / misclassified",
                f"{f['jobs']}, {f['faulted']}/{f['requests']}; {f['lost']} / {f['duplicates']} / {f['misclassified']}",
                "0 / 0 / 0",
                "met" if f["lost"] == f["duplicates"] == f["misclassified"] == 0 else "MISSED",
            ]
        )
    for c in result["crashes"]:
        out.append(
            [
                f"kill -9 ({c['runs']} runs): jobs at the provider: recovered + id died with the process; lost",
                f"{c['jobs_reached_provider']}: {c['recovered']} + {c['reached_unknown']}; {c['lost']}",
                "lost 0",
                "met" if c["lost"] == 0 else "MISSED",
            ]
        )
    for m in result["memory"]:
        out.append(
            [
                f"mock peak RSS growth, {m['body_mib']:.0f} MiB bodies: announced / chunked",
                f"{m['announced_growth_mib']:.1f} / {m['chunked_growth_mib']:.1f} MiB",
                f"< {MEMORY_TARGET_MIB:.0f} MiB announced",
                "met" if m["announced_growth_mib"] < MEMORY_TARGET_MIB else "MISSED",
            ]
        )
    out.append([f"reliability suites ({result['form']}): pytest wall time", f"{result['wall_s']:.1f} s", "", ""])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/reliability_figures.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the bounded forms of three suites (CI)")
    parser.add_argument("--no-check", action="store_true", help="exit 0 even when a target is missed")
    parser.add_argument("--pure", action="store_true", help="accepted for run_all.py; the suites pick their own servers")
    args = parser.parse_args(argv)
    status, wall, figures, output = run(args.quick)
    result = {**summarise(figures), "wall_s": wall, "form": "bounded" if args.quick else "full", "pytest_status": status}
    if status != 0 or not figures:
        sys.stdout.write(output)
        result["ok"] = False
    print(table(rows(result), ["figure", "measured", "target", ""]))
    emit(result)
    return 0 if result["ok"] or args.no_check else 1


if __name__ == "__main__":
    sys.exit(main())
