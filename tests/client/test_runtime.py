"""The lifecycle rules, driven effect by effect: when a call is re-sent, how long to wait, what is journaled."""

from __future__ import annotations

import math
import random
from typing import Any

import httpx
import pytest

from wan26core._errors import SubmitUncertainError, TransportError
from wan26core._protocol import HttpCall, HttpReply, JobStatus
from wan26core._runtime import PollSchedule, RetryPolicy, Send, Sleep, send_op
from wan26core._sse import SSEDecoder

POLICY = RetryPolicy(attempts=4, backoff=0.5, rng=random.Random(1))
GET = HttpCall("GET", "https://p/status")
POST = HttpCall("POST", "https://p/submit", json={}, idempotent=False)


def drive(op: Any, outcomes: list[Any]) -> tuple[Any, list[Any]]:
    """Run ``op``, answering each Send with the next outcome (a reply, or an exception to raise)."""
    effects: list[Any] = []
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = op.throw(error) if error is not None else op.send(value)
        except StopIteration as stop:
            return stop.value, effects
        effects.append(effect)
        value, error = None, None
        if isinstance(effect, Send):
            outcome = outcomes.pop(0)
            if isinstance(outcome, BaseException):
                error = outcome
            else:
                value = outcome


def ok(status: int = 200, **headers: str) -> HttpReply:
    return HttpReply(status, headers, b"{}")


def sends(effects: list[Any]) -> int:
    return sum(isinstance(e, Send) for e in effects)


def test_a_get_is_retried_through_transport_errors_and_5xx() -> None:
    reply, effects = drive(send_op(GET, POLICY), [httpx.ReadTimeout("t"), ok(503), ok(200)])
    assert reply.status == 200
    assert sends(effects) == 3
    assert sum(isinstance(e, Sleep) for e in effects) == 2


def test_retry_after_sets_the_wait() -> None:
    _, effects = drive(send_op(GET, POLICY), [ok(429, **{"retry-after": "7"}), ok(200)])
    assert [e.seconds for e in effects if isinstance(e, Sleep)] == [7.0]


def test_a_get_gives_up_after_the_last_attempt_with_a_clear_error() -> None:
    with pytest.raises(TransportError, match="GET https://p/status: ConnectError after 4 attempt"):
        drive(send_op(GET, POLICY), [httpx.ConnectError("refused")] * 4)


@pytest.mark.parametrize("error", [httpx.ReadTimeout("t"), httpx.RemoteProtocolError("reset"), httpx.ReadError("r")])
def test_a_submit_is_never_resent_after_an_ambiguous_failure(error: Exception) -> None:
    outcomes: list[Any] = [error, ok(200)]
    with pytest.raises(SubmitUncertainError, match="may have reached the provider"):
        drive(send_op(POST, POLICY), outcomes)
    assert len(outcomes) == 1  # the second answer was never asked for


def test_a_submit_is_resent_when_it_provably_never_left() -> None:
    reply, effects = drive(send_op(POST, POLICY), [httpx.ConnectError("refused"), httpx.ConnectTimeout("t"), ok(200)])
    assert reply.status == 200 and sends(effects) == 3


@pytest.mark.parametrize(("status", "resent"), [(429, True), (503, True), (500, False), (502, False), (504, False)])
def test_a_submit_is_resent_only_on_refusals_before_acceptance(status: int, resent: bool) -> None:
    reply, effects = drive(send_op(POST, POLICY), [ok(status), ok(200)])
    assert sends(effects) == (2 if resent else 1)
    assert reply.status == (200 if resent else status)


def test_backoff_grows_and_stays_under_the_cap() -> None:
    policy = RetryPolicy(backoff=1, max_backoff=8, rng=random.Random(3))
    delays = [policy.delay(n) for n in range(1, 9)]
    assert all(0.5 <= d <= 1 for d in delays[:1])
    assert all(d <= 8 for d in delays)
    assert max(delays[4:]) >= 4  # later attempts wait longer than the first


def test_the_poll_schedule_is_sparse_early_and_dense_near_the_typical_finish() -> None:
    schedule = PollSchedule({"min": 0, "typical": 5, "max": 120}, {"min": 60, "typical": 120, "max": 600})
    queued = JobStatus("queued", "IN_QUEUE")
    assert schedule.next_delay(0, None) == schedule.first_check
    assert schedule.next_delay(2, queued) == 30.0  # cannot finish before 60 s: wait long (capped)
    assert schedule.spread == pytest.approx(math.hypot(20, 90))  # (max - min) / 6 of queue and processing
    near = schedule.next_delay(124, JobStatus("running", "R"))  # typical finish: 125 s
    assert near == pytest.approx(schedule.spread * schedule.spread_fraction)  # a fraction of the spread
    assert schedule.min_interval < near < schedule.max_interval
    assert schedule.next_delay(400, JobStatus("running", "R")) == 30.0  # long overdue: back off (capped)
    fast = PollSchedule(schedule.queue_s, schedule.processing_s, time_scale=10)
    assert fast.next_delay(1.2, queued) == pytest.approx(3.0)  # every delay compressed 10x


def test_the_client_tunes_the_poll_schedule_and_names_a_bad_setting() -> None:
    from wan26core import Client

    with Client("dashscope/r2v", api_key="k", journal=False, poll={"spread_fraction": 0.02, "max_interval": 3}) as client:
        schedule = client.schedule(client.endpoint())
    assert schedule.spread_fraction == 0.02 and schedule.max_interval == 3.0
    assert schedule.next_delay(2, JobStatus("queued", "PENDING")) == 3.0  # the cap, long before the earliest finish
    with pytest.raises(ValueError, match="'interval' is not a poll setting; choose from min_interval"):
        Client("dashscope/r2v", journal=False, poll={"interval": 1})
    with pytest.raises(ValueError, match="max_interval must be a positive number"):
        Client("dashscope/r2v", journal=False, poll={"max_interval": -1})
    with pytest.raises(ValueError, match="min_interval must not exceed max_interval"):
        Client("dashscope/r2v", journal=False, poll={"max_interval": 1})


def test_the_poll_schedule_aims_at_the_finish_the_progress_rate_predicts() -> None:
    schedule = PollSchedule({"min": 0, "typical": 5, "max": 120}, {"min": 60, "typical": 120, "max": 600})
    window = schedule.spread * schedule.spread_fraction
    assert schedule.next_delay(70, JobStatus("running", "R", progress=0.7)) == pytest.approx(window)  # one sample: no rate
    assert schedule.next_delay(80, JobStatus("running", "R", progress=0.8)) == pytest.approx(20.5)  # 1 %/s: 20 s to go
    assert schedule.next_delay(90, JobStatus("running", "R", progress=0.8)) == pytest.approx(window)  # stalled
    far = PollSchedule(schedule.queue_s, schedule.processing_s)
    far.next_delay(70, JobStatus("running", "R", progress=0.1))
    assert far.next_delay(80, JobStatus("running", "R", progress=0.2)) == pytest.approx(40.0)  # 80 s to go: halfway
    assert far.next_delay(75, JobStatus("running", "R", progress=0.3)) == pytest.approx(window)  # reused: starts over
    assert far.next_delay(85, JobStatus("running", "R", progress=0.301)) == 4 * far.max_interval  # ~2 h to go: capped


def test_sse_decoder_joins_data_lines_and_skips_comments() -> None:
    decoder = SSEDecoder()
    lines = [": keep-alive", "", "event: status", 'data: {"a":', "data: 1}", "", "data: x", ""]
    assert [d for d in (decoder.feed(line) for line in lines) if d is not None] == ['{"a":\n1}', "x"]
