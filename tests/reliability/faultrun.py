"""Mixed-fault survival: many jobs through ``AsyncClient`` against the mock while a share of the requests is faulted.

A :class:`FaultInjector` (an httpx transport wrapped around the real one) picks, for a ``rate`` share of the requests,
one fault of the mock's catalogue and asks for it with the mock's per-request scenario header: a 429 with
``Retry-After``, a catalogued 5xx, a connection reset before or after the request took effect, a truncated JSON body,
an answer that comes only after the client's read timeout (the job created meanwhile) and, on submits, a generation
that fails with a catalogued native code. Everything it did is logged, so each job's expected fate follows from the
faults its submit attempts met; :func:`audit` compares that with what the client raised, what the client's journal
says and what the mock accepted (its job list and its request journal).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from relykit import CANARY, admin_list, job_request, marker_of

from wan26_mock import SCENARIO_HEADER
from wan26_mock.engine import ADMIN_PREFIX
from wan26core import AsyncClient, Contract, Wan26Error
from wan26core._errors import ContentPolicyError, GenerationFailedError, ProviderError, RateLimitError, SubmitUncertainError
from wan26core._journal import FINISHED_PHASES, Journal
from wan26core._plugins import Registry
from wan26core._runtime import RetryPolicy

__all__ = ["READ_TIMEOUT_S", "FaultInjector", "ProviderRun", "audit", "run_provider"]

READ_TIMEOUT_S = 2.0  # the client's read timeout; the "timeout after accept" fault answers later than this
LATE_ANSWER_S = READ_TIMEOUT_S + 1.0
RETRY = RetryPolicy(attempts=5, backoff=0.02, max_backoff=0.2)
#: fault kinds for any request, and those only a submit gets (they decide the job's outcome)
ANY_REQUEST = ("rate_limited", "server_error", "connection_reset", "connection_reset:after", "malformed", "timeout_after_accept")
SUBMIT_ONLY = ("generation_failed",)
#: faults after which the mock holds the job although the client never read its id
ACCEPTED_UNREAD = ("connection_reset:after", "malformed", "timeout_after_accept")


SEQ_HEADER = "x-rely-request"  # each request's number, to find it in the mock's journal


@dataclass(frozen=True)
class Injection:
    seq: int
    action: str  # "submit" or "poll" (status, stream, result)
    fault: str | None
    job: int | None  # the job number a submit carries


class FaultInjector(httpx.AsyncBaseTransport):
    """Adds the mock's scenario header to a ``rate`` share of the provider requests; logs every decision.

    Which requests are faulted is random; the kinds of fault take turns, so that a few dozen faults cover them all.
    """

    def __init__(
        self, inner: httpx.AsyncBaseTransport, contract: Contract, *, rate: float, rng: random.Random, start: int = 0
    ) -> None:
        self.inner, self.rate, self.rng = inner, rate, rng
        errors = contract.data["errors"]
        self.server_codes = [
            e["code"] for e in errors if e["kind"] in ("provider", "timeout") and (e["http_status"] or 500) >= 500
        ]
        self.failure_codes = [e["code"] for e in errors if e["kind"] in ("generation_failed", "content_policy")]
        self.log: list[Injection] = []
        self.raised: set[int] = set()  # requests that ended in a transport error (some never reached the mock)
        self._turn = {"submit": start, "poll": rng.randrange(len(ANY_REQUEST))}  # the kinds take turns

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith(ADMIN_PREFIX):  # result files: not a provider request
            return await self.inner.handle_async_request(request)
        action = "submit" if request.method == "POST" else "poll"
        fault = self._pick(action) if self.rng.random() < self.rate else None
        seq = len(self.log)
        self.log.append(Injection(seq, action, fault, marker_of(request.content) if action == "submit" else None))
        request.headers[SEQ_HEADER] = str(seq)
        if fault is not None:
            request.headers[SCENARIO_HEADER] = fault
        try:
            return await self.inner.handle_async_request(request)
        except httpx.TransportError:
            self.raised.add(seq)
            raise

    def _pick(self, action: str) -> str:
        kinds = SUBMIT_ONLY + ANY_REQUEST if action == "submit" else ANY_REQUEST
        kind = kinds[self._turn[action] % len(kinds)]
        self._turn[action] += 1
        if kind == "rate_limited":
            return "rate_limited:0.05"
        if kind == "server_error":
            return f"server_error:{self.rng.choice(self.server_codes)}"
        if kind == "timeout_after_accept":
            return f"timeout_after_accept:{LATE_ANSWER_S:g}"
        if kind == "generation_failed":
            return f"generation_failed:{self.rng.choice(self.failure_codes)}"
        return kind

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class Outcome:
    job: int
    error: Exception | None
    local_id: str | None = None


@dataclass
class ProviderRun:
    provider: str
    contract: Contract
    outcomes: list[Outcome]
    injections: list[Injection]
    journal_path: Path
    raised: set[int] = field(default_factory=set)
    reprs: list[str] = field(default_factory=list)  # reprs and messages of everything the run produced
    wall_s: float = 0.0


async def run_provider(
    provider: str,
    base_url: str,
    registry: Registry,
    jobs: Sequence[int],
    tmp: Path,
    *,
    rate: float,
    seed: int,
    start: int = 0,
) -> ProviderRun:
    """Run ``jobs`` (their numbers) at once on ``provider`` through one AsyncClient with a fault injector
    (``start``: the first kind of fault its submits get, in the order of ``SUBMIT_ONLY + ANY_REQUEST``)."""
    contract = registry.get(provider).contract
    inner = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=None, max_keepalive_connections=100))
    injector = FaultInjector(inner, contract, rate=rate, rng=random.Random(seed), start=start)
    http = httpx.AsyncClient(transport=injector, timeout=httpx.Timeout(15.0, read=READ_TIMEOUT_S), follow_redirects=True)
    journal_path = tmp / f"{provider.replace('/', '-')}.sqlite3"
    began = time.monotonic()
    reprs: list[str] = []
    async with AsyncClient(
        provider,
        api_key=CANARY,
        base_url=base_url,
        registry=registry,
        journal=Journal(journal_path),
        http=http,
        time_scale=50,  # the fast profile's second per job, as `wan26 generate --mock` polls it
        retry=RETRY,
    ) as client:

        async def one(number: int) -> Outcome:
            try:
                result = await client.generate(job_request(number), timeout=60)
            except Wan26Error as exc:
                reprs.extend([str(exc), repr(exc)])
                return Outcome(number, exc, getattr(exc, "local_id", None) or getattr(exc, "job_id", None))
            reprs.extend([repr(result), repr(result.job), repr(result.video)])
            return Outcome(number, None, result.job.id)

        outcomes = await asyncio.gather(*(one(n) for n in jobs))
        reprs.extend([repr(client), repr(client.endpoint())])
    await http.aclose()
    return ProviderRun(
        provider, contract, list(outcomes), injector.log, journal_path, injector.raised, reprs, time.monotonic() - began
    )


def _settled_journal(admin_url: str, provider: str, late: set[int]) -> list[dict[str, Any]]:
    """The mock's journal of ``provider`` once the ``late`` requests are in it (a late answer is journaled when sent)."""
    deadline = time.monotonic() + LATE_ANSWER_S + 5
    while True:
        entries: list[dict[str, Any]] = admin_list(admin_url, "/journal", "entries", provider=provider)
        arrived = {int(e["headers"][SEQ_HEADER]) for e in entries if SEQ_HEADER in e["headers"]}
        if late <= arrived or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


def _number(value: Any) -> int:
    number = marker_of(value)
    return -1 if number is None else number


# --- the audit ---------------------------------------------------------------------------------------
def expected_fate(submits: Sequence[str | None], contract: Contract) -> tuple[type[Exception] | None, str | None, str]:
    """(exception class or None, native code, journal phase) that the faults met by a job's submits call for."""
    fault = submits[-1] if submits else None  # earlier attempts were refused before acceptance and sent again
    kind, _, argument = (fault or "").partition(":")
    if fault is None:
        return None, None, "succeeded"
    if kind == "generation_failed":
        entry = contract.error(argument)
        assert entry is not None
        cls = ContentPolicyError if entry["kind"] == "content_policy" else GenerationFailedError
        return cls, argument, "failed"
    if kind == "rate_limited":
        code = next(e["code"] for e in contract.data["errors"] if e["kind"] == "rate_limit")
        return RateLimitError, code, "rejected"
    if kind == "server_error":
        return ProviderError, argument, "rejected"
    return SubmitUncertainError, None, "unknown"  # reset, malformed, late answer: the submit's fate is unknown


def audit(run: ProviderRun, admin_url: str) -> dict[str, Any]:
    """Compare the run with the client's journal and the mock's jobs and request journal; the figures and the faults."""
    provider, contract = run.provider, run.contract
    numbers = {o.job for o in run.outcomes}
    mock_jobs = [j for j in admin_list(admin_url, "/jobs", "jobs") if j["provider"] == provider]
    mock_jobs = [j for j in mock_jobs if marker_of(j["wire"]) in numbers]
    late = {i.seq for i in run.injections if i.fault is not None and i.fault.startswith("timeout_after_accept")}
    entries = _settled_journal(admin_url, provider, late)
    submits_seen = [e for e in entries if e["action"] == "submit" and marker_of(e["body"]) in numbers]
    with Journal(run.journal_path) as journal:
        records = journal.list()
    by_marker: dict[int, list[Any]] = {}
    for record in records:
        by_marker.setdefault(_number(record.wire), []).append(record)

    problems: list[str] = []
    # jobs lost: every job the mock accepted is journaled with its id, or kept as `unknown` (its answer never came)
    mock_by_marker: dict[int, list[dict[str, Any]]] = {}
    for job in mock_jobs:
        mock_by_marker.setdefault(_number(job["wire"]), []).append(job)
    lost = 0
    for number, held in mock_by_marker.items():
        kept = by_marker.get(number, [])
        for job in held:
            if not any(r.remote_id == job["id"] or (r.remote_id is None and r.phase == "unknown") for r in kept):
                lost += 1
                problems.append(f"job {number}: the mock accepted {job['id']} but the client's journal has {kept}")
    # duplicates: at most one accepted submit per job, in the mock's job list and in its request journal
    accepted = Counter(marker_of(e["body"]) for e in submits_seen if e["job_id"] is not None)
    duplicates = sum(n - 1 for n in accepted.values() if n > 1) + sum(len(j) - 1 for j in mock_by_marker.values() if len(j) > 1)
    if duplicates:
        problems.append(f"duplicate accepted submits: {dict(accepted)}")
    # every job journaled once, finished or unknown, and with an id only the mock gave
    ids = {j["id"] for j in mock_jobs}
    for number in numbers:
        kept = by_marker.get(number, [])
        if len(kept) != 1:
            problems.append(f"job {number}: {len(kept)} journal records")
            continue
        record = kept[0]
        if record.phase not in FINISHED_PHASES | {"unknown"}:
            problems.append(f"job {number}: left in phase {record.phase}")
        if record.remote_id is not None and record.remote_id not in ids:
            problems.append(f"job {number}: journaled remote id {record.remote_id} the mock never gave")

    # classification: the exception (class and native code) and the journal phase each job's submit faults call for
    by_seq = {int(e["headers"][SEQ_HEADER]): e for e in entries if SEQ_HEADER in e["headers"]}
    submits: dict[int, list[Injection]] = {}
    for injection in run.injections:
        if injection.action == "submit" and injection.job is not None:
            submits.setdefault(injection.job, []).append(injection)
    outcomes: Counter[str] = Counter()
    misclassified = late_read = 0
    for outcome in run.outcomes:
        attempts = submits.get(outcome.job, [])
        cls, code, phase = expected_fate([a.fault for a in attempts], contract)
        last = attempts[-1] if attempts else None
        if last is not None and last.fault is None and last.seq in run.raised:
            # no fault asked for, yet the connection failed (a keep-alive connection the server had just closed): as
            # ambiguous as a reset, so the client must keep the job as unknown and never send it again
            cls, code, phase = SubmitUncertainError, None, "unknown"
        error = outcome.error
        outcomes[type(error).__name__ if error is not None else "succeeded"] += 1
        got = type(error) if error is not None else None
        native = getattr(error, "native_code", None) if error is not None else None
        record = (by_marker.get(outcome.job) or [None])[0]
        wrong = got is not cls or (code is not None and native != code) or record is None or record.phase != phase
        if wrong and last is not None and (last.fault or "").startswith("timeout_after_accept") and got is None:
            # the late answer was read after all: on an overloaded machine the client's loop can get to the socket
            # after the answer came in and before it noticed the deadline. One job, followed to its end: also right.
            late_read += 1
            wrong = len(mock_by_marker.get(outcome.job, [])) != 1 or record is None or record.phase != "succeeded"
        if cls is SubmitUncertainError and not wrong and last is not None:
            kept_by_mock = len(mock_by_marker.get(outcome.job, []))
            arrived = by_seq.get(last.seq)
            expected = (last.fault or "").startswith(ACCEPTED_UNREAD) or (
                last.fault is None and arrived is not None and arrived["job_id"] is not None
            )
            wrong = kept_by_mock != int(expected)
        if wrong:
            misclassified += 1
            problems.append(
                f"job {outcome.job}: submit faults {[a.fault for a in attempts]} call for {cls and cls.__name__} {code}"
                f" and phase {phase}; got {got and got.__name__} {native} ({error}) and phase {record and record.phase}"
            )

    # the faults were real: each faulted request is in the mock's journal with its scenario, unless it never got there
    # (a keep-alive connection the server had just closed: the client saw a transport error and sent it again)
    injected = Counter(i.fault.partition(":")[0] for i in run.injections if i.fault is not None)
    for injection in run.injections:
        entry = by_seq.get(injection.seq)
        if entry is None and injection.seq not in run.raised:
            problems.append(f"request {injection.seq} ({injection.action}, {injection.fault}) never reached the mock")
        elif entry is not None and (entry["scenario"] or None) != (injection.fault and injection.fault.partition(":")[0]):
            problems.append(f"request {injection.seq}: injected {injection.fault}, the mock journaled {entry['scenario']}")
    figures = {
        "provider": provider,
        "jobs": len(run.outcomes),
        "requests": len(run.injections),
        "faulted": sum(injected.values()),
        "never_arrived": sum(1 for i in run.injections if i.seq not in by_seq),
        "fault_rate": round(sum(injected.values()) / max(1, len(run.injections)), 3),
        "faults": dict(sorted(injected.items())),
        "accepted_by_mock": len(mock_jobs),
        "outcomes": dict(sorted(outcomes.items())),
        "unknown_kept": sum(1 for r in records if r.phase == "unknown"),
        "late_answers_read": late_read,
        "lost": lost,
        "duplicates": duplicates,
        "misclassified": misclassified,
        "wall_s": round(run.wall_s, 2),
    }
    return {"figures": figures, "problems": problems}
