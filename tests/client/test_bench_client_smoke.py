"""The client benchmarks in bench/ keep running: their --quick forms print a table and figures that make sense.

Speed is not asserted here (a shared CI machine says little about it): only that every job completed, was counted
and timed, and that the figures hang together.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[2] / "bench"
RESULT_PREFIX = "BENCH_RESULT "


def run_quick(script: str) -> tuple[str, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick"], capture_output=True, text=True, timeout=180, cwd=BENCH.parent
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    assert len(lines) == 1, done.stdout
    return done.stdout, json.loads(lines[0][len(RESULT_PREFIX) :])


def test_client_requests_quick_counts_and_times_every_job_of_both_clients() -> None:
    out, result = run_quick("client_requests.py")
    rows = {(r["provider"], r["client"]): r for r in result["rows"]}
    providers = ["fal/r2v-flash", "aimlapi/r2v", "vtrix/r2v", "dashscope/r2v"]
    assert {p for p, _ in rows} == set(providers) and len(rows) == 8
    assert "requests/job mean/max" in out and "detect s p50/p95" in out
    for provider in providers:
        assert provider in out
        ours = rows[(provider, "wan26")]
        theirs = next(r for (p, c), r in rows.items() if p == provider and c != "wan26")
        for row in (ours, theirs):
            assert row["jobs"] == result["jobs"] == 3
            assert 1 <= row["polls_mean"] <= row["polls_max"] < row["requests_max"]  # a submit, then status requests
            assert row["job_s_min"] >= 44.0, row  # the contracts' fastest job is 45 s (fal), in uncompressed seconds
            # finish -> return: never before the finish (beyond the clock's own uncertainty)
            tolerance = result["clock_uncertainty_s"] + 0.5
            assert -tolerance <= row["latency_p50_s"] <= row["latency_p95_s"] <= row["latency_max_s"] < math.inf, row
            assert math.isfinite(row["round_trip_p50_ms"]) and row["round_trip_p50_ms"] > 0
        assert "ok" in ours and "ok" not in theirs  # targets apply to wan26's client only
    fal = rows[("fal/r2v-flash", "wan26")]
    assert fal["streamed"] and fal["requests_max"] == 3  # submit, one status stream, the result
    assert rows[("fal/r2v-flash", "fal-client (poll 0.1 s)")]["requests_mean"] > fal["requests_mean"]
    assert rows[("vtrix/r2v", "wan26")]["progress"] and not rows[("dashscope/r2v", "wan26")]["progress"]


def test_client_concurrency_quick_runs_every_job_and_measures_the_client_alone() -> None:
    out, result = run_quick("client_concurrency.py")
    assert "concurrent jobs, AsyncClient as built by default" in out and "client peak RSS" in out
    (run,) = result["runs"]
    jobs = result["jobs"]
    assert run["succeeded"] == jobs == 50 and not run["errors"]
    assert run["requests_by_kind"]["submit"] == jobs  # one POST per job, never re-sent
    assert run["requests"] >= 2 * jobs  # and at least one status request or stream each
    assert run["journal_rows"] >= 2 * jobs  # every job journaled before and after its submit
    assert 10 * 2**20 < run["ready_rss_bytes"] <= run["peak_rss_bytes"] < 2**31
    assert result["peak_rss_bytes"] == run["peak_rss_bytes"] and result["wall_s"] == run["wall_s"] > 0
    assert run["client_cpu_s"] > 0 and run["mock_cpu_s"] > 0  # two processes, each measured
