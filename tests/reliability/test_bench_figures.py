"""``bench/reliability_figures.py`` and ``bench/suite_time.py`` turn figures into verdicts and table rows; checked
here on made-up figures (running them is ``bench/run_all.py --quick``'s job: they start pytest themselves)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import reliability_figures  # noqa: E402
import suite_time  # noqa: E402


def fault(provider: str, **changes: int) -> dict[str, Any]:
    base = {"lost": 0, "duplicates": 0, "misclassified": 0, "jobs": 12, "faulted": 9, "requests": 45, "fault_rate": 0.2}
    return {"suite": "fault_survival", "provider": provider, **base, **changes}


CRASH = {"suite": "crash_resume", "runs": 5, "jobs_reached_provider": 7, "recovered": 6, "reached_unknown": 1, "lost": 0}
MEMORY = {"suite": "hostile_memory", "body_mib": 65.0, "announced_growth_mib": 2.0, "chunked_growth_mib": 65.0}


def test_clean_figures_meet_every_target() -> None:
    result = reliability_figures.summarise([fault("fal/r2v-flash"), fault("vtrix/r2v"), CRASH, MEMORY])
    assert result["ok"]
    rows = reliability_figures.rows({**result, "form": "bounded", "wall_s": 14.0})
    assert [r[-1] for r in rows] == ["met", "met", "met", "met", ""]
    assert rows[2][1] == "7: 6 + 1; 0"


def test_a_lost_job_a_duplicate_or_a_fat_body_is_a_miss() -> None:
    for bad in ([fault("fal/r2v-flash", lost=1), CRASH, MEMORY], [fault("x", duplicates=1), CRASH, MEMORY]):
        assert not reliability_figures.summarise(bad)["ok"]
    assert not reliability_figures.summarise([fault("x"), {**CRASH, "lost": 1}, MEMORY])["ok"]
    assert not reliability_figures.summarise([fault("x"), CRASH, {**MEMORY, "announced_growth_mib": 70.0}])["ok"]
    assert not reliability_figures.summarise([CRASH, MEMORY])["ok"]  # a suite that reported nothing is no pass


def test_suite_time_rows_name_the_slowest_tests() -> None:
    result = {
        "form": "full",
        "passed": 1300,
        "failed": 0,
        "wall_s": 135.0,
        "target_s": 300.0,
        "ok": True,
        "slowest": [{"seconds": 6.4, "phase": "call", "test": "tests/a/test_x.py::test_y[fal/r2v]"}],
    }
    rows = suite_time.rows(result)
    assert rows[0][1:] == ["135.0 s", "<= 300 s, all pass", "met"]
    assert rows[1][0].strip() == "slow: test_x.py::test_y[fal/r2v] (call)"
