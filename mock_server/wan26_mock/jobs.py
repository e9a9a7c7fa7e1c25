"""Jobs on the virtual clock: each moves queued -> running -> succeeded/failed, or is cancelled.

The store is bounded: it keeps at most ``max_jobs`` jobs (default :data:`~wan26_mock.limits.DEFAULT_MAX_JOBS`). When a
new job would pass the cap, the store first makes room for a tenth of the cap at once (so that eviction costs nothing
per job on average): the oldest finished jobs (succeeded, failed or cancelled) go first, then, when too few have
finished, the oldest unfinished ones. A job keeps its wire body and request with every data URI as a digest
(:mod:`wan26_mock.digests`), so a job costs a few kilobytes whatever was sent.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from wan26core import Contract, GenerationRequest, NativeError, estimate_cost
from wan26core._dialect import JobSnapshot, Video

from .digests import compact_request, compact_value
from .limits import DEFAULT_MAX_JOBS

__all__ = ["Job", "JobStore", "Phase", "Profile", "known_fields"]

Profile = Literal["fast", "realistic"]
Outcome = Literal["succeeded", "failed", "stuck"]
FAST = {"queue": 0.25, "run": 0.75}  # about a second in all
PROGRESS_STEPS = 100  # logs report progress in whole percents
#: (state, queue position, progress rounded as snapshots report it, whole percent of the logs, started_at,
#: cancelled_at, outcome, error, video): everything a snapshot depends on that can change once a job exists
Phase: TypeAlias = tuple[str, int, float, int, float | None, float | None, str, NativeError | None, Video | None]


@dataclass
class Job:
    id: str
    provider: str
    request: GenerationRequest
    wire: dict[str, Any]
    created_at: float
    queue_s: float
    run_s: float
    positions: int
    seed: int
    outcome: Outcome = "succeeded"
    error: NativeError | None = None
    cancelled_at: float | None = None
    video: Video | None = None
    webhook_url: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    #: the engine's memo of the last answer rendered for this job (see ``Engine``): it dies with the job
    answer: Any = field(default=None, repr=False, compare=False)

    def state_at(self, now: float) -> str:
        if self.cancelled_at is not None and self.cancelled_at <= now:
            return "cancelled"
        if self.outcome == "stuck" or now < self.created_at + self.queue_s:
            return "queued"
        if now < self.created_at + self.queue_s + self.run_s:
            return "running"
        return "failed" if self.outcome == "failed" else "succeeded"

    def phase(self, now: float) -> Phase:
        """What :meth:`JobStore.snapshot` at ``now`` is made of besides the job's fixed fields: two instants with
        equal phases give equal snapshots, so an answer rendered from one snapshot holds while the phase does."""
        state = self.state_at(now)
        started = self.created_at + self.queue_s
        position = 0
        progress = 0.0
        if state == "queued":
            queue_s = self.queue_s
            remaining = 1.0 if self.outcome == "stuck" else max(0.0, (started - now) / queue_s) if queue_s else 0.0
            position = max(0, math.ceil(remaining * self.positions) - 1)
        elif state != "cancelled":
            progress = 1.0 if state != "running" else min(1.0, (now - started) / self.run_s) if self.run_s else 1.0
        percent = math.floor(min(progress, 1.0) * PROGRESS_STEPS)  # as the logs count it
        started_at = started if state != "queued" and now >= started else None
        return (state, position, round(progress, 3), percent, started_at, self.cancelled_at, self.outcome, self.error, self.video)

    @property
    def finishes_at(self) -> float:
        return self.created_at + self.queue_s + self.run_s

    def ends_at(self) -> float | None:
        """When the job reaches a terminal state on the virtual clock; None while it may never end (stuck)."""
        if self.cancelled_at is not None:
            return self.cancelled_at
        return None if self.outcome == "stuck" else self.finishes_at

    def next_change(self, now: float) -> float | None:
        """The next virtual time after ``now`` at which a snapshot can differ (state, queue position or a
        whole percent of progress); None when the job will not change on its own (ended or stuck)."""
        state = self.state_at(now)
        if state in ("succeeded", "failed", "cancelled") or self.outcome == "stuck":
            return None
        start = self.created_at + self.queue_s
        if state == "queued":
            step = self.queue_s / max(1, self.positions)
            return start - (math.ceil((start - now) / step) - 1) * step if step > 0 else start
        if self.run_s <= 0:
            return self.finishes_at
        percent = math.floor((now - start) / self.run_s * PROGRESS_STEPS)  # as the logs count it
        return min(self.finishes_at, start + (percent + 1) * self.run_s / PROGRESS_STEPS)


class JobStore:
    """All jobs of one mock process, with seeded ids and timings."""

    def __init__(self, *, seed: int | None = None, profile: Profile = "fast", max_jobs: int = DEFAULT_MAX_JOBS) -> None:
        if isinstance(max_jobs, bool) or not isinstance(max_jobs, int) or max_jobs < 1:
            raise ValueError(f"max_jobs: must be a positive integer, got {max_jobs!r}")
        self.profile = profile
        self.max_jobs = max_jobs
        self._seed = seed
        self._rng = random.Random(seed)
        self.jobs: dict[str, Job] = {}
        self.evicted = 0  # jobs dropped to keep the store under its cap, since the start
        #: called with the ids of evicted jobs (the engine forgets their webhooks)
        self.on_evict: Callable[[list[str]], None] = lambda job_ids: None

    def reset(self) -> None:
        self._rng = random.Random(self._seed)
        self.jobs.clear()

    def create(self, provider: str, contract: Contract, request: GenerationRequest, wire: dict[str, Any], now: float) -> Job:
        """A new job (data URIs in ``request`` and ``wire`` kept as digests); older jobs may be evicted for room."""
        if len(self.jobs) >= self.max_jobs:
            self.evict(now)
        rng = self._rng
        job_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if self.profile == "fast":
            queue_s, run_s = FAST["queue"], FAST["run"]
        else:
            timing = contract.data["timing"]
            queue_s = _jitter(rng, timing["queue_s"])
            run_s = _jitter(rng, timing["processing_s"])
        job = Job(
            id=job_id,
            provider=provider,
            request=compact_request(request),
            wire=compact_value(wire),
            created_at=now,
            queue_s=queue_s,
            run_s=run_s,
            positions=1 + rng.randrange(4),
            seed=request.seed if request.seed is not None else rng.randrange(2**31),
        )
        self.jobs[job_id] = job
        return job

    def evict(self, now: float) -> list[str]:
        """Drop jobs to make room for a tenth of the cap: the oldest finished first, then the oldest; their ids."""
        room = max(1, self.max_jobs // 10)
        excess = len(self.jobs) - self.max_jobs + room
        if excess <= 0:
            return []
        finished = [i for i, j in self.jobs.items() if _ended(j, now)]
        victims = finished[:excess]
        if len(victims) < excess:
            chosen = set(victims)
            victims += [i for i in self.jobs if i not in chosen][: excess - len(victims)]
        for job_id in victims:
            del self.jobs[job_id]
        self.evicted += len(victims)
        self.on_evict(victims)
        return victims

    def snapshot(self, job: Job, now: float, contract: Contract) -> JobSnapshot:
        return self.snapshot_of(job, job.phase(now), contract)

    def snapshot_of(self, job: Job, phase: Phase, contract: Contract) -> JobSnapshot:
        """The snapshot of ``job`` in ``phase`` (from :meth:`Job.phase`)."""
        state, position, progress, percent, started_at, cancelled_at, _, error, video = phase
        logs = _logs(percent) if state in ("running", "succeeded", "failed") else ()
        return JobSnapshot(
            id=job.id,
            provider=job.provider,
            state=state,  # type: ignore[arg-type]
            created_at=job.created_at,
            request=job.request,
            wire=job.wire,
            queue_position=position,
            progress=progress,
            logs=logs,
            log_times=_log_times(job, len(logs)),
            started_at=started_at,
            finished_at=job.finishes_at if state in ("succeeded", "failed") else cancelled_at,
            error=error if state == "failed" else None,
            video=video if state == "succeeded" else None,
            seed=job.seed,
            cost_usd=_cost(job.request, contract) if state == "succeeded" else None,
        )


def _ended(job: Job, now: float) -> bool:
    end = job.ends_at()
    return end is not None and end <= now


def _jitter(rng: random.Random, span: dict[str, float]) -> float:
    low = span.get("min", span["typical"] * 0.5)
    high = span.get("max", span["typical"] * 1.5)
    return max(0.0, min(high, max(low, rng.gauss(span["typical"], (high - low) / 6 or 1.0))))


#: (percent of the run at which it is written, line): lines are only ever appended, never rewritten, as a real
#: log is (a status stream sends each line once; a poll shows them all)
_LOG_STEPS = (
    (0, "Loading references"),
    (10, "Encoding prompt"),
    *((at, f"Generating frames ({at}%)") for at in range(20, 90, 10)),
    (90, "Encoding video"),
)


def _logs(percent: int) -> tuple[str, ...]:
    """Log lines so far, from the whole percent of progress (floored), so they change only when
    :meth:`Job.next_change` says."""
    return tuple(text for at, text in _LOG_STEPS if percent >= at)


def _log_times(job: Job, count: int) -> tuple[float, ...]:
    """When each of the first ``count`` lines was written: at its percent of the run, and at least a microsecond
    after the line before it (a run of zero seconds still writes its lines one after another)."""
    start = job.created_at + job.queue_s
    return tuple(start + at / PROGRESS_STEPS * job.run_s + index * 1e-6 for index, (at, _) in enumerate(_LOG_STEPS[:count]))


def _cost(request: GenerationRequest, contract: Contract) -> float | None:
    estimate = estimate_cost(request, contract)
    return estimate.usd if estimate else None


def known_fields(body: Any, schema: Mapping[str, Any]) -> Any:
    """What a job keeps of a wire body: the fields the request schema names (at every depth; the provider ignores the
    rest, so the mock does not store megabytes of them), non-finite numbers as their names (strict JSON out)."""
    if isinstance(body, dict):
        props = schema.get("properties")
        if not isinstance(props, dict):
            return {k: known_fields(v, {}) for k, v in body.items()}
        return {k: known_fields(v, props[k]) for k, v in body.items() if k in props}
    if isinstance(body, list):
        items = schema.get("items")
        return [known_fields(v, items if isinstance(items, dict) else {}) for v in body]
    if isinstance(body, float) and not math.isfinite(body):
        return repr(body)
    return body
