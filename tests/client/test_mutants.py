"""Three lifecycle rules that mutation sampling found untested (issue 14), each checked for every provider.

- A submit the provider accepted but whose answer cannot be read is journaled as ``unknown`` (findable, never
  re-sent) and raises :class:`SubmitUncertainError`.
- A poll that sees nothing new writes no journal row (and calls ``on_update`` no more); a change writes one.
- ``wait(timeout=T)`` polls once more at the deadline when the next scheduled poll would come after it, so a job
  that finished meanwhile succeeds instead of raising :class:`JobTimeoutError`.

In process through ``wan26_routes``, on a mock whose clock all but stands still: jobs move only when a test
advances the clock, so what each poll sees is decided here, not by timing.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

import wan26_aimlapi
import wan26_dashscope
import wan26_fal
import wan26_vtrix
from wan26core import AsyncClient, Client, JobStatus, JobTimeoutError, Journal, Registry, RetryPolicy, SubmitUncertainError
from wan26core.testing import MockConfig, MockRoutes

PROVIDERS = ["fal/r2v-flash", "aimlapi/r2v", "vtrix/r2v", "dashscope/r2v"]
REQUEST = {
    "prompt": "@cat waves at @dog",
    "references": [
        {"name": "cat", "source": "https://example.com/cat.mp4"},
        {"name": "dog", "source": "https://example.com/dog.mp4"},
    ],
    "duration": 5,
}
FAST_RETRY = RetryPolicy(attempts=4, backoff=0.02, max_backoff=0.1)
#: the mock's clock runs a million times slower than real time: a test's few seconds are microseconds to its jobs
#: (a job of the "fast" profile queues 0.25 s and runs 0.75 s of virtual time), so nothing changes unless advanced
STILL = 1e-6
#: virtual seconds that take a queued job (0.25 s queue + 0.75 s run) to its end
TO_THE_END = 5.0
UNFINISHED = ("queued", "running")
#: a poll schedule far slower than any timeout below: after the first poll, the next would come in a minute
SLOW_POLL = {"first_check": 60.0, "min_interval": 60.0, "max_interval": 60.0}
#: a poll every 10 ms
FAST_POLL = {"first_check": 0.01, "min_interval": 0.01, "max_interval": 0.01}
DEADLINE = 0.4


def registry() -> Registry:
    return Registry(plugins=[wan26_fal, wan26_aimlapi, wan26_vtrix, wan26_dashscope], entry_points=False)


@pytest.fixture(scope="session")
def wan26_mock_config() -> MockConfig:
    return MockConfig(registry=registry(), seed=14, time_scale=STILL)


def client(provider: str, tmp_path: Path, **options: Any) -> Client:
    return Client(provider, registry=registry(), journal=Journal(tmp_path / "journal.sqlite3"), retry=FAST_RETRY, **options)


def journal_of(c: Client | AsyncClient) -> Journal:
    assert c.journal is not None
    return c.journal


# --- an accepted submit whose answer cannot be read -------------------------------------------------------------
@pytest.mark.parametrize("scenario", ["malformed", "connection_reset:after"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_accepted_but_unreadable_submit_is_journaled_as_unknown_and_sent_once(
    wan26_routes: MockRoutes, provider: str, scenario: str, tmp_path: Path
) -> None:
    # malformed: 200 with half of the JSON; connection_reset:after: the job is created, then the connection drops
    wan26_routes.scenario(scenario, provider=provider, action="submit")
    with client(provider, tmp_path) as c:
        with pytest.raises(SubmitUncertainError) as caught:
            c.submit(REQUEST)
        journal = journal_of(c)
        assert caught.value.local_id is not None
        record = journal.get(caught.value.local_id)
        phases = [r.phase for r in journal.list()]
    assert record.phase == "unknown" and record.remote_id is None
    assert record.last_log  # the reason, for `wan26 jobs`
    assert phases == ["unknown"]
    assert len(wan26_routes.submits(provider, include_refused=True)) == 1  # sent exactly once
    assert len(wan26_routes.jobs()) == 1  # and the provider did create the job


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_async_client_also_keeps_an_unreadable_submit_as_unknown(
    wan26_routes: MockRoutes, provider: str, tmp_path: Path
) -> None:
    wan26_routes.scenario("malformed", provider=provider, action="submit")

    async def run() -> str:
        async with AsyncClient(provider, registry=registry(), journal=tmp_path / "j.sqlite3", retry=FAST_RETRY) as c:
            with pytest.raises(SubmitUncertainError) as caught:
                await c.submit(REQUEST)
            assert caught.value.local_id is not None
            return journal_of(c).get(caught.value.local_id).phase

    assert asyncio.run(run()) == "unknown"
    assert len(wan26_routes.submits(provider, include_refused=True)) == 1
    assert len(wan26_routes.jobs()) == 1


# --- an unchanged poll writes nothing ----------------------------------------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_unchanged_status_writes_no_journal_row_and_a_change_writes_one(
    wan26_routes: MockRoutes, provider: str, tmp_path: Path
) -> None:
    updates: list[JobStatus] = []
    with client(provider, tmp_path, stream=False, poll=FAST_POLL) as c:
        journal = journal_of(c)
        job = c.submit(REQUEST)
        accepted = len(journal.events(job.id))  # intent, submitted

        first = job.status()  # queued (Vtrix says "in_progress")
        assert first.state in UNFINISHED
        assert len(journal.events(job.id)) == accepted + 1  # news: the job is waiting
        for _ in range(5):
            assert job.status().state == first.state
        assert len(journal.events(job.id)) == accepted + 1  # five polls that saw nothing new: no row

        polls_before = len(wan26_routes.journal(provider=provider, action="status"))
        with pytest.raises(JobTimeoutError):  # polls every 10 ms until the timeout, seeing the same status each time
            job.wait(timeout=0.25, on_update=updates.append)
        polls = len(wan26_routes.journal(provider=provider, action="status")) - polls_before
        assert polls >= 5, f"only {polls} poll(s): the test proves nothing"
        assert len(journal.events(job.id)) == accepted + 1
        assert [u.state for u in updates] == [first.state]  # reported once, not once per poll

        wan26_routes.advance(TO_THE_END)
        assert job.status().state == "succeeded"
        events = journal.events(job.id)
        assert len(events) == accepted + 2 and events[-1]["phase"] == "succeeded"  # a change: exactly one row
        for _ in range(3):
            job.status()
        assert len(journal.events(job.id)) == accepted + 2


# --- the final poll at the deadline ------------------------------------------------------------------------------
def finish_after_the_first_poll(routes: MockRoutes, seen: list[str]) -> Any:
    """An ``on_update`` that records the states and, once the first poll saw the job unfinished, lets it finish."""

    def on_update(status: JobStatus) -> None:
        seen.append(status.state)
        if len(seen) == 1:
            assert not status.finished
            routes.advance(TO_THE_END)

    return on_update


@pytest.mark.parametrize("provider", PROVIDERS)
def test_wait_polls_once_more_at_the_deadline(wan26_routes: MockRoutes, provider: str, tmp_path: Path) -> None:
    seen: list[str] = []
    with client(provider, tmp_path, stream=False, poll=SLOW_POLL) as c:
        job = c.submit(REQUEST)
        started = time.monotonic()
        result = job.wait(timeout=DEADLINE, on_update=finish_after_the_first_poll(wan26_routes, seen))
        waited = time.monotonic() - started
        record = journal_of(c).get(job.id)
    assert result.url and record.phase == "succeeded"
    assert seen[0] in UNFINISHED and seen[-1] == "succeeded"
    assert len(wan26_routes.journal(provider=provider, action="status")) == 2  # the first poll, and one at the deadline
    assert DEADLINE - 0.05 <= waited < 30  # not before the deadline: the schedule alone would wait a minute


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_async_wait_polls_once_more_at_the_deadline(wan26_routes: MockRoutes, provider: str, tmp_path: Path) -> None:
    seen: list[str] = []

    async def run() -> tuple[str, float]:
        async with AsyncClient(
            provider, registry=registry(), journal=tmp_path / "j.sqlite3", retry=FAST_RETRY, stream=False, poll=SLOW_POLL
        ) as c:
            job = await c.submit(REQUEST)
            started = time.monotonic()
            result = await job.wait(timeout=DEADLINE, on_update=finish_after_the_first_poll(wan26_routes, seen))
            return result.url, time.monotonic() - started

    url, waited = asyncio.run(run())
    assert url and seen[0] in UNFINISHED and seen[-1] == "succeeded"
    assert len(wan26_routes.journal(provider=provider, action="status")) == 2
    assert DEADLINE - 0.05 <= waited < 30
