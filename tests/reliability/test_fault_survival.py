"""Mixed-fault survival: jobs on every provider at once while 20 % of the requests are faulted (see ``faultrun``).

Bounded (CI): 12 jobs per provider, a few seconds. Full: ``WAN26_SUITE=full python -m pytest tests/reliability``
(200 jobs per provider). Asserted: no job the mock accepted is missing from the client's journal, no job was accepted
twice, every failure is the exception class and native code its faults call for, and the canary key shows up in no
log record, journal file, repr, exception or mock journal entry.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultrun import ANY_REQUEST, SUBMIT_ONLY, audit, run_provider
from relykit import CANARY, FULL, PROVIDERS, admin_list, report

from support import builtin_registry
from wan26_mock.engine import Engine
from wan26_mock.journal import RequestJournal as MockJournal
from wan26_mock.serve import MockServer, running_server

JOBS = 200 if FULL else 12
RATE = 0.2


@pytest.fixture(scope="module")
def mock() -> Iterator[MockServer]:
    engine = Engine(builtin_registry(), seed=17, profile="fast")
    engine.journal = MockJournal(limit=1_000_000)  # every exchange of the full form stays auditable
    with running_server(engine=engine) as server:
        yield server


def test_mixed_faults_lose_no_job_pay_none_twice_and_classify_every_failure(
    mock: MockServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx, httpcore, uvicorn and wan26 at their most talkative
    registry = builtin_registry()

    async def everything() -> list[object]:
        return list(
            await asyncio.gather(
                *(
                    run_provider(
                        provider,
                        mock.base_url,
                        registry,
                        range(i * JOBS, (i + 1) * JOBS),
                        tmp_path,
                        rate=RATE,
                        seed=100 + i,
                        start=2 * i,
                    )  # the providers' submits start their turns of faults apart: the bounded form sees every kind
                    for i, provider in enumerate(PROVIDERS)
                )
            )
        )

    runs = asyncio.run(asyncio.wait_for(everything(), 300))
    audits = [audit(run, mock.admin_url) for run in runs]  # type: ignore[arg-type]
    for result in audits:
        report("fault_survival", result["figures"])
    problems = [p for a in audits for p in a["problems"]]
    assert problems == [], "\n".join(problems)
    figures = [a["figures"] for a in audits]
    assert all(f["lost"] == 0 and f["duplicates"] == 0 and f["misclassified"] == 0 for f in figures)
    assert all(f["jobs"] == JOBS and f["faulted"] > 0 for f in figures)
    seen = Counter(kind for f in figures for kind, n in f["faults"].items() for _ in range(n))
    kinds = {k.partition(":")[0] for k in ANY_REQUEST}
    assert kinds <= set(seen), seen  # every kind of fault happened and was survived or classified
    if FULL:
        assert all(set(f["faults"]) >= kinds | set(SUBMIT_ONLY) for f in figures), figures
        # 20 % of the requests, within four standard deviations of a binomial draw
        assert all(abs(f["faulted"] / f["requests"] - RATE) <= 4 * math.sqrt(RATE * (1 - RATE) / f["requests"]) for f in figures)

    # the canary key: in no log record, journal file, repr or message, nor in the mock's journal
    assert CANARY not in caplog.text
    assert all(CANARY not in text for run in runs for text in run.reprs)  # type: ignore[attr-defined]
    files = [p for p in tmp_path.iterdir() if p.name.endswith((".sqlite3", ".sqlite3-wal", ".sqlite3-shm"))]
    assert files and all(CANARY.encode() not in p.read_bytes() for p in files)
    mock_journal = str(admin_list(mock.admin_url, "/journal", "entries"))
    assert "REDACTED" in mock_journal and CANARY not in mock_journal
