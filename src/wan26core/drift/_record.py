"""``wan26 contracts record``: a few cheap, real exchanges with a provider, scrubbed, written as a recording.

Online and paid, so opt-in: :func:`plan_recording` says what will be sent and what it may cost before
anything leaves the machine; :func:`run_recording` sends it through the client runtime
(:mod:`wan26core._protocol` builds the calls, :mod:`wan26core._runtime` sends them) while an httpx
response hook (:mod:`wan26core.drift._capture`) captures every exchange and scrubs it: no key, no
signed-URL token. What is sent comes from :mod:`wan26core.drift._requests`. Files are created, never
overwritten.

Scenarios (in this order; the free ones first, so a refused key stops the run before anything is paid):

- ``refusal``: a request the provider documents as invalid (no prompt, else no reference), refused for free;
- ``unknown-job``: the status of a job id that does not exist;
- ``submit``: the cheapest valid request, one status, a cancel at once and one more status where the
  contract has a cancel route (fal, DashScope); without one the job runs to the end and is paid, so
  ``submit`` is not in the default set there;
- ``full`` (only with ``full=True``): the cheapest request followed to its end, its result, and the status
  stream of the ended job where the contract has one.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlsplit, urlunsplit

import httpx

from wan26core._contract import Contract
from wan26core._drivers import run_sync
from wan26core._errors import SubmitUncertainError, TransportError, ValidationError, Wan26Error
from wan26core._pricing import CostEstimate, estimate_cost
from wan26core._protocol import ClientProtocol, HttpCall, JobRef, JobStatus, redact_url
from wan26core._rules.render import WireRequest
from wan26core._rules.request import GenerationRequest
from wan26core._runtime import (
    Endpoint,
    PollSchedule,
    RetryPolicy,
    cancel_op,
    result_op,
    send_op,
    status_op,
    submit_op,
)
from wan26core.drift._capture import Capture
from wan26core.drift._recordings import RECORDING_VERSION, SEED_NAMES, dump_recording, recording_problems
from wan26core.drift._requests import Refusal, cheapest_request, refusal_for

__all__ = [
    "DEFAULT_SCENARIOS",
    "SCENARIOS",
    "RecordingPlan",
    "RecordingRun",
    "plan_recording",
    "resolve_key",
    "run_recording",
]

SCENARIOS = ("refusal", "unknown-job", "submit", "full")
DEFAULT_SCENARIOS = ("refusal", "unknown-job", "submit")
#: names a live recording may not take: the generated ones (seed, verify-mock)
_RESERVED_NAMES = (*SEED_NAMES, "mock")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
STREAM_TIMEOUT_S = 30.0
MAX_STATUS_ERRORS = 5
Scenario = Literal["refusal", "unknown-job", "submit", "full"]


# --- what will be sent --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordingPlan:
    """Everything a recording run will do, known before a single request is sent."""

    provider_id: str
    contract: Contract
    protocol: ClientProtocol
    base_url: str
    scenarios: tuple[Scenario, ...]
    request: GenerationRequest
    wire: WireRequest
    refusal: Refusal | None
    cost: CostEstimate | None
    path: Path
    notes: tuple[str, ...] = ()

    @property
    def paid_jobs(self) -> int:
        """Jobs the run submits on purpose (a cancelled one may be free, or not)."""
        return sum(1 for s in self.scenarios if s in ("submit", "full"))

    def describe(self, key_source: str) -> str:
        """The plan as shown before asking for confirmation: target, scenarios, request, cost, file."""
        cancel = "cancel" in self.contract.transport["routes"]
        lines = [f"wan26 contracts record: {self.provider_id} at {_shown(self.base_url)} (key from {key_source})"]
        lines.append("  scenarios:")
        for scenario in self.scenarios:
            lines.append(f"    {scenario:<12} {self._explain(scenario, cancel)}")
        lines.append(f"  request: {_summary(self.request)}")
        lines.append(f"  expected cost: {self.cost_line(cancel)}")
        lines += [f"  note: {note}" for note in self.notes]
        lines.append(f"  writes: {self.path} (a new file; scrubbed of keys and signed-URL tokens)")
        return "\n".join(lines) + "\n"

    def cost_line(self, cancel: bool) -> str:
        jobs = self.paid_jobs
        if jobs == 0:
            return "$0 (no job is submitted on purpose)"
        caveat = ""
        if cancel and "submit" in self.scenarios:
            caveat = "; a job cancelled before processing may be free, but may still be charged"
        if self.cost is None:
            return f"{jobs} job(s) at a price {self.provider_id} does not document{caveat}"
        return f"up to ${self.cost.usd * jobs:.4f} ({jobs} job(s) x {self.cost}){caveat}"

    def _explain(self, scenario: str, cancel: bool) -> str:
        if scenario == "refusal":
            if self.refusal is None:
                return "skipped: the errors catalogue names no free refusal to provoke"
            answer = f"HTTP {self.refusal.http_status}" if self.refusal.http_status else "a failed-task body"
            return f"{self.refusal.what}: answered {answer} {self.refusal.code} (free)"
        if scenario == "unknown-job":
            return "the status of a job id that does not exist (free)"
        if scenario == "submit":
            if cancel:
                return "submit the request, one status, cancel it at once, one more status (1 job)"
            return "submit the request and ask its status once; no cancel route: the job runs and is paid (1 job)"
        return "submit the request, poll it to its end, fetch the result" + (
            ", read the ended job's status stream (1 job)" if "stream" in self.contract.transport["routes"] else " (1 job)"
        )


def plan_recording(
    provider: Any,
    *,
    scenarios: Sequence[str] = (),
    full: bool = False,
    base_url: str | None = None,
    out: str | Path = "contracts/recordings",
    name: str | None = None,
    references: Sequence[str] = (),
    image: str | None = None,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> RecordingPlan:
    """The plan for ``provider`` (a registered provider): raises :class:`Wan26Error` on a bad choice, sends nothing."""
    contract: Contract = provider.contract
    protocol = provider.protocol
    notes: list[str] = []
    chosen = _choose(contract, scenarios, full, notes)
    paid = any(s in ("submit", "full") for s in chosen)
    request = cheapest_request(contract, references=references, image=image, need_media=paid)
    try:
        wire: WireRequest = provider.render(request)
    except ValidationError as exc:
        raise Wan26Error(f"the request to record is not valid for {contract.id}: {exc}") from None
    if wire.local_files:
        raise Wan26Error("record sends URLs only: pass --ref/--image as https URLs, not local files")
    refusal = refusal_for(contract, wire.body, request) if "refusal" in chosen else None
    return RecordingPlan(
        provider_id=contract.id,
        contract=contract,
        protocol=protocol,
        base_url=protocol.base_url(base_url, environ),
        scenarios=chosen,
        request=request,
        wire=wire,
        refusal=refusal,
        cost=estimate_cost(request, contract),
        path=_new_path(Path(out) / contract.id, name, now or datetime.now(timezone.utc)),
        notes=tuple(notes),
    )


def _choose(contract: Contract, scenarios: Sequence[str], full: bool, notes: list[str]) -> tuple[Scenario, ...]:
    unknown = sorted(set(scenarios) - set(SCENARIOS))
    if unknown:
        raise Wan26Error(f"--scenario: unknown {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    if "full" in scenarios and not full:
        raise Wan26Error("--scenario full runs a whole paid job: add --full to ask for it")
    cancel = "cancel" in contract.transport["routes"]
    wanted = set(scenarios) or set(DEFAULT_SCENARIOS)
    if not scenarios and not cancel:
        wanted.discard("submit")
        notes.append(
            f"{contract.id} documents no cancel, so a submitted job is paid in full: 'submit' is left out"
            " (ask for it with --scenario submit, or --full)"
        )
    if full:
        wanted.add("full")
    return tuple(cast(Scenario, s) for s in SCENARIOS if s in wanted)


def _new_path(folder: Path, name: str | None, now: datetime) -> Path:
    """``folder/<name>.json``, never an existing file: an explicit name that exists is refused."""
    if name is not None:
        if not _NAME.match(name) or name in _RESERVED_NAMES:
            raise Wan26Error(
                f"--name {name!r}: use letters, digits, '.', '_' and '-' (not {', '.join(_RESERVED_NAMES)}, which are generated)"
            )
        path = folder / f"{name}.json"
        if path.exists():
            raise Wan26Error(f"{path} exists: recordings are never overwritten; choose another --name")
        return path
    stem = "live-" + now.strftime("%Y%m%dT%H%M%SZ")
    path, n = folder / f"{stem}.json", 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}.json"
    return path


def resolve_key(contract: Contract, key_env: str | None, environ: Mapping[str, str]) -> tuple[str, str]:
    """(key, the variable it came from): ``key_env``'s value, else the provider's documented variable; never a default."""
    if key_env:
        value = environ.get(key_env, "")
        if not value:
            raise Wan26Error(f"--key-env {key_env}: that environment variable is not set or empty; record needs a real key")
        return value, key_env
    names = [str(n) for n in contract.transport["auth"]["env"]]
    for name in names:
        if environ.get(name):
            return environ[name], name
    wanted = " or ".join(names) or "the provider's key variable"
    raise Wan26Error(f"no API key for {contract.id}: set {wanted} or pass --key-env VAR; record never runs without a real key")


# --- sending and capturing ------------------------------------------------------------------------------


@dataclass
class RecordingRun:
    """What a run did: the scrubbed exchanges, the provider's job ids, and what went otherwise than planned."""

    exchanges: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def recording(self, plan: RecordingPlan, version: str) -> dict[str, Any]:
        return {
            "$schema": "../../../schema/recording.schema.json",
            "recording_version": RECORDING_VERSION,
            "contract": plan.provider_id,
            "name": plan.path.stem,
            "description": (
                f"Live exchanges with {_shown(plan.base_url)}, scenarios {', '.join(plan.scenarios)}; "
                "keys and signed-URL tokens scrubbed. Check with `wan26 contracts check --recordings DIR`."
            ),
            "generated_by": f"wan26 contracts record {version}",
            "exchanges": self.exchanges,
        }

    def write(self, plan: RecordingPlan, version: str) -> Path:
        """Create the recording file (never overwriting one); raises when the data fails the recording schema."""
        data = self.recording(plan, version)
        problems = recording_problems(data)
        if problems:
            raise Wan26Error(f"the recording is not valid, not written: {'; '.join(problems[:3])}")
        plan.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with plan.path.open("x", encoding="utf-8") as handle:  # "x": fails rather than overwrite
                handle.write(dump_recording(data))
        except FileExistsError:
            raise Wan26Error(f"{plan.path} appeared while recording: not overwritten; nothing written") from None
        return plan.path


def run_recording(
    plan: RecordingPlan,
    key: str,
    *,
    version: str = "0",
    http: httpx.Client | None = None,
    timeout: float | None = None,
    poll_interval: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RecordingRun:
    """Send the plan's scenarios with ``key`` and capture every exchange (nothing is written here).

    A transport failure or a refused key (HTTP 401/403) ends the run; what was captured is kept.
    """
    run = RecordingRun()
    capture = Capture(plan.base_url, key, f"wan26 contracts record {version}")
    run.exchanges = capture.exchanges
    own = http is None
    client = http or httpx.Client(timeout=60.0, follow_redirects=False)
    hooks = client.event_hooks
    client.event_hooks = {**hooks, "response": [*hooks.get("response", []), capture]}
    steps = _Steps(plan, key, client, capture, run, sleep)
    try:
        for scenario in plan.scenarios:
            if capture.refused_key:
                run.problems.append(f"{scenario}: not run, the provider refused the key (HTTP 401/403)")
                continue
            try:
                steps.scenario(scenario, timeout=timeout, poll_interval=poll_interval)
            except httpx.TransportError as exc:
                run.problems.append(f"{scenario}: {type(exc).__name__} talking to {_shown(plan.base_url)}; run ended")
                break
            except (TransportError, SubmitUncertainError) as exc:
                run.problems.append(f"{scenario}: {exc}; run ended")
                break
            except KeyboardInterrupt:  # keep the evidence of what was already sent (and maybe paid)
                run.problems.append(f"{scenario}: interrupted; run ended")
                break
    finally:
        client.event_hooks = hooks
        if own:
            client.close()
    return run


class _Steps:
    """The scenarios, each a few calls through the runtime's operations."""

    def __init__(
        self,
        plan: RecordingPlan,
        key: str,
        http: httpx.Client,
        capture: Capture,
        run: RecordingRun,
        sleep: Callable[[float], None],
    ) -> None:
        self.plan, self.http, self.capture, self.run, self.sleep = plan, http, capture, run, sleep
        self.endpoint = Endpoint(None, plan.protocol, plan.base_url, key)
        self.policy = RetryPolicy(attempts=2)
        self.routes: Mapping[str, Any] = plan.contract.transport["routes"]

    def scenario(self, name: str, *, timeout: float | None, poll_interval: float | None) -> None:
        if name == "refusal":
            self.refusal()
        elif name == "unknown-job":
            self.unknown_job()
        elif name == "submit":
            self.submit_and_cancel()
        else:
            self.full(timeout, poll_interval)

    def call(self, action: str, note: str, op: Any) -> Any:
        """Run one runtime operation with its exchanges labelled; a provider's refusal is recorded, not raised."""
        with self.capture.step(action, note):
            try:
                return run_sync(op, self.http, sleep=self.sleep)
            except (TransportError, SubmitUncertainError):
                raise
            except Wan26Error as exc:
                return exc

    def submit(self, note: str) -> JobRef | None:
        wire = self.plan.wire
        outcome = self.call("submit", note, submit_op(self.endpoint, wire, {}, journal=None, policy=self.policy))
        if isinstance(outcome, Wan26Error):
            self.run.problems.append(f"{note}: the provider refused the cheapest valid request: {outcome}")
            return None
        ref: JobRef = outcome[1]
        self.run.jobs.append(ref.job_id)
        return ref

    def refusal(self) -> None:
        refusal = self.plan.refusal
        if refusal is None:
            return  # the plan said so: the catalogue names no free refusal
        protocol = self.plan.protocol
        wire = WireRequest(
            self.plan.wire.provider, self.plan.wire.method, self.plan.wire.url, dict(self.plan.wire.headers), refusal.body
        )
        call = protocol.submit_call(wire, key=self.endpoint.key, base_url=self.endpoint.base_url)
        reply = self.call("submit", f"refusal: {refusal.what}", send_op(call, RetryPolicy(attempts=1)))
        if isinstance(reply, Wan26Error) or not reply.ok:
            return
        try:
            ref = protocol.parse_submitted(reply)
        except Wan26Error:
            return  # refused inside a 200 body (Vtrix's failed-task answer)
        self.run.jobs.append(ref.job_id)
        self.run.problems.append(f"refusal: the provider accepted {refusal.what} as job {ref.job_id} (it may be charged)")
        if "cancel" in self.routes:
            self.call("cancel", "refusal: cancel the accepted job", cancel_op(self.endpoint, ref, self.policy))

    def unknown_job(self) -> None:
        ref = JobRef(self.plan.provider_id, str(uuid.uuid4()))
        self.call("status", "unknown job", status_op(self.endpoint, ref, self.policy))

    def submit_and_cancel(self) -> None:
        ref = self.submit("submit")
        if ref is None:
            return
        self.call("status", "submit: status", status_op(self.endpoint, ref, self.policy))
        if "cancel" not in self.routes:
            return
        self.call("cancel", "submit: cancel at once", cancel_op(self.endpoint, ref, self.policy))
        self.call("status", "submit: status after cancel", status_op(self.endpoint, ref, self.policy))

    def full(self, timeout: float | None, poll_interval: float | None) -> None:
        ref = self.submit("full run")
        if ref is None:
            return
        timing = self.plan.contract.data["timing"]
        limit = timeout or 1.5 * (timing["queue_s"].get("max", 600) + timing["processing_s"].get("max", 600))
        schedule = PollSchedule.from_contract(timing)
        started = time.monotonic()
        polls = errors = 0
        while True:
            polls += 1
            outcome = self.call("status", f"full run: poll {polls}", status_op(self.endpoint, ref, self.policy))
            status = outcome if isinstance(outcome, JobStatus) else None
            if status is not None and status.finished:
                break
            errors = errors + 1 if status is None else 0
            if errors >= MAX_STATUS_ERRORS:
                self.run.problems.append(f"full run: {errors} status errors in a row for job {ref.job_id}; not followed further")
                return
            elapsed = time.monotonic() - started
            if elapsed > limit:
                self.run.problems.append(f"full run: job {ref.job_id} still unfinished after {limit:g} s; not followed further")
                return
            self.sleep(poll_interval if poll_interval is not None else schedule.next_delay(elapsed, status))
        if "result" in self.routes:  # a failed job's result carries its error
            self.call("result", "full run: result", result_op(self.endpoint, ref, self.policy))
        stream = self.plan.protocol.stream_call(ref, key=self.endpoint.key, base_url=self.endpoint.base_url)
        if stream is not None:
            self.stream(stream)

    def stream(self, call: HttpCall) -> None:
        with self.capture.step("stream", "full run: status stream of the ended job"):
            try:
                self.http.request(call.method, call.url, headers=dict(call.headers), timeout=STREAM_TIMEOUT_S)
            except httpx.TimeoutException:
                self.run.problems.append(f"full run: the status stream of an ended job stayed open over {STREAM_TIMEOUT_S:g} s")


# --- helpers ----------------------------------------------------------------------------------------------


def _shown(url: str) -> str:
    """A URL fit to print or write: no user:password part, no secret-looking query value."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        url = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, parts.query, parts.fragment))
    return redact_url(url)


def _summary(request: GenerationRequest) -> str:
    parts = [f"{request.resolution or 'default resolution'}", f"{request.duration or 'default'} s"]
    if request.generate_audio is False:
        parts.append("audio off")
    if request.references:
        parts.append(", ".join(f"{r.resolved_kind or 'reference'} {redact_url(r.source)}" for r in request.references))
    if request.image:
        parts.append(f"first frame {redact_url(request.image)}")
    return "; ".join(parts)
