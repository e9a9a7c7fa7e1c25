"""The benchmarks in bench/ keep running: the quick memory benchmark, through the one-command runner."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_the_quick_memory_benchmark_runs_and_prints_sane_figures() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "run_all.py"), "--quick", "--only", "mock_memory", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    table, _, raw = done.stdout.partition("\n{")
    assert "mock RSS, idle" in table and "1,000 jobs in flight" in table, done.stdout
    result = json.loads("{" + raw)["mock_memory"]
    assert result["jobs"] == 1000
    idle, loaded = result["idle_rss_bytes"], result["loaded_rss_bytes"]
    assert 10 * 2**20 < idle < 2**30, idle  # a Python process with Starlette and the plugins loaded
    assert idle < loaded < idle + 200 * 2**20, (idle, loaded)  # 1,000 jobs cost something, and not much
    assert math.isclose(result["bytes_per_job"], (loaded - idle) / 1000)
    assert result["submit_rate"] > 0


def test_the_quick_aimock_comparison_runs_and_says_when_aimock_is_skipped(tmp_path: Path) -> None:
    """Offline: --no-install with an empty folder, so aimock is skipped (never installed from the network here),
    and the report must say so rather than print two ratios silently."""
    done = subprocess.run(
        [sys.executable, str(BENCH / "mock_aimock.py"), "--quick", "--no-install", "--aimock-dir", str(tmp_path), "-c", "8"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "aimock: SKIPPED (" in done.stdout and "wan26 / aimock: not measured" in done.stdout
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH_RESULT "))
    result = json.loads(line[len("BENCH_RESULT ") :])
    assert set(result["servers"]) == {"wan26", "bare"} and result["aimock"]["skipped"]
    assert result["servers"]["wan26"]["rps"] > 0 and result["ratios"]["wan26_vs_bare_rps"] > 0


def test_the_journal_workers_bench_runs_with_no_duplicate_and_no_loss(postgres_database: str) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "journal_workers.py"), "--jobs", "3", "--postgres-url", postgres_database],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.split("BENCH_RESULT ", 1)[1])
    assert [r["backend"] for r in result["rows"]] == ["sqlite", "postgres"]
    for row in result["rows"]:
        assert row["jobs"] == 24 and row["duplicates"] == 0 and row["lost"] == 0, row
        assert 6 <= row["events_per_job"] <= row["writes_per_job"], row  # every change is a write; leases add some
