"""Test-suite wall time: ``pytest tests`` as CI runs it (Hypothesis profile ``ci``), with the slowest tests.

Full form: the whole suite (``tests/``). ``--quick``: a small in-process part (validation, references, contracts,
the journal), seconds. Reported: wall time, tests passed, the slowest five (``--durations``). Target for
the full suite: <= 300 s on this 2-core machine (exit 1 when missed or when a test fails, unless ``--no-check``).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from typing import Any

from _common import HERE, PYTHON, emit, table

TESTS = HERE.parent / "tests"
QUICK = ("test_validation.py", "test_references.py", "test_contracts.py", "client/test_journal.py")
TARGET_S = 300.0
_DURATION = re.compile(r"^\s*([\d.]+)s (call|setup|teardown)\s+(\S+)", re.M)
_SUMMARY = re.compile(r"(\d+) passed")
_FAILED = re.compile(r"(\d+) (failed|error)")


def run(quick: bool) -> dict[str, Any]:
    paths = [str(TESTS / p) for p in QUICK] if quick else [str(TESTS)]
    env = {**os.environ, "HYPOTHESIS_PROFILE": "ci"}
    began = time.monotonic()
    done = subprocess.run(
        [PYTHON, "-m", "pytest", *paths, "-q", "-p", "no:cacheprovider", "--durations=5"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tempfile.gettempdir(),
    )
    wall = time.monotonic() - began
    out = done.stdout
    passed = _SUMMARY.findall(out)
    failed = sum(int(n) for n, _ in _FAILED.findall(out.splitlines()[-1] if out else ""))
    slowest = [{"seconds": float(s), "phase": phase, "test": test} for s, phase, test in _DURATION.findall(out)][:5]
    return {
        "form": "quick" if quick else "full",
        "paths": [p.removeprefix(str(TESTS) + "/") or "tests" for p in paths],
        "wall_s": wall,
        "passed": int(passed[-1]) if passed else 0,
        "failed": failed,
        "status": done.returncode,
        "slowest": slowest,
        "target_s": None if quick else TARGET_S,
        "ok": done.returncode == 0 and (quick or wall <= TARGET_S),
        "output": "" if done.returncode == 0 else out[-3000:] + done.stderr[-2000:],
    }


def rows(result: dict[str, Any]) -> list[list[str]]:
    """This benchmark's rows in ``bench/run_all.py``'s table."""
    what = "whole suite" if result["form"] == "full" else "a small subset"
    target = f"<= {result['target_s']:.0f} s, all pass" if result["target_s"] else "all pass"
    out = [
        [
            f"test suite wall time, {what} ({result['passed']} passed, {result['failed']} failed)",
            f"{result['wall_s']:.1f} s",
            target,
            "met" if result["ok"] else "MISSED",
        ]
    ]
    for slow in result["slowest"][:3]:
        path, _, name = slow["test"].partition("::")
        out.append([f"  slow: {path.rsplit('/', 1)[-1]}::{name[:80]} ({slow['phase']})", f"{slow['seconds']:.1f} s", "", ""])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/suite_time.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small in-process subset (CI)")
    parser.add_argument("--no-check", action="store_true", help="exit 0 even when the target is missed")
    parser.add_argument("--pure", action="store_true", help="accepted for run_all.py; nothing to change here")
    args = parser.parse_args(argv)
    result = run(args.quick)
    if result["output"]:
        sys.stdout.write(result["output"])
    print(table(rows(result), ["figure", "measured", "target", ""]))
    emit({k: v for k, v in result.items() if k != "output"})
    return 0 if result["ok"] or args.no_check else 1


if __name__ == "__main__":
    sys.exit(main())
