"""The job lifecycle, written once for the sync and async clients.

Each operation (submit, status, wait, result, cancel) is a generator that *yields effects* — send this
HTTP call, sleep this long, open/read/close a status stream — and receives their outcomes. A driver
performs the effects: :func:`run_sync` with ``httpx.Client`` and ``time.sleep``, :func:`run_async` with
``httpx.AsyncClient`` and ``asyncio.sleep``. Retries, the poll schedule, the journal and the rules for
when a submit may be re-sent therefore live in one place and are identical in both clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import mimetypes
import queue
import random
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from .errors import (
    JobTimeoutError,
    MalformedResponseError,
    ProviderError,
    RateLimitError,
    SubmitUncertainError,
    TransportError,
    Wan26Error,
)
from .protocol import ClientProtocol, HttpCall, HttpReply, JobRef, JobStatus, VideoResult, redact_url
from .request import GenerationRequest, source_type

if TYPE_CHECKING:
    from .journal import Journal

__all__ = [
    "CloseStream",
    "Endpoint",
    "NextEvent",
    "OpenStream",
    "PollSchedule",
    "RetryPolicy",
    "Send",
    "Sleep",
    "cancel_op",
    "result_op",
    "run_async",
    "run_sync",
    "status_op",
    "submit_op",
    "wait_op",
]

T = TypeVar("T")


# --- effects ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Send:
    call: HttpCall


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class OpenStream:
    """Open a server-sent-events stream; the outcome is a stream handle, or an :class:`HttpReply` on refusal.

    ``read_timeout``: the longest silence to accept between two reads (None: the client's default).
    """

    call: HttpCall
    read_timeout: float | None = None


@dataclass(frozen=True)
class NextEvent:
    """The next event's ``data`` from an open stream, or None when the stream ended.

    ``deadline``: a ``time.monotonic()`` instant; when no event came by then (keep-alive comments do not count),
    the outcome is ``httpx.ReadTimeout`` and the stream is given up.
    """

    stream: Any
    deadline: float | None = None


@dataclass(frozen=True)
class CloseStream:
    stream: Any


Effect = Send | Sleep | OpenStream | NextEvent | CloseStream
Op = Generator[Effect, Any, T]

#: transport failures that prove the request never reached the server (safe to re-send even a submit)
NEVER_SENT: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


# --- policies --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter; ``Retry-After`` wins when the provider gives it."""

    attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    retry_statuses: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})
    #: statuses that prove a submit was refused before acceptance (safe to re-send)
    submit_retry_statuses: frozenset[int] = frozenset({429, 503})
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return float(min(retry_after, self.max_backoff * 4))
        ceiling = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        return float(ceiling / 2 + self.rng.uniform(0, ceiling / 2))


@dataclass(frozen=True)
class PollSchedule:
    """When to ask again, informed by the contract's timing profile (seconds of real job time).

    - Before the fastest finish the provider documents (``queue_s.min + processing_s.min``): sparse
      (one early check for quick failures, then every ``max_interval`` at most).
    - From there to ``typical + 2 spread``: every ``spread_fraction`` of the finish time's spread
      (``spread``: the queue's and processing's ``(max - min) / 6``, combined). Without progress the
      detection latency is about this interval; the budget is the width of the window divided by it.
    - Past that: backing off, a quarter of the time overdue.
    - With progress reported (two samples that moved): the rate gives the finish; far off, ask again
      halfway there (the rate is re-measured over a longer stretch; ``4 max_interval`` at most),
      close, just after it.

    Keeps the progress seen so far: use one instance per wait. ``time_scale`` compresses every delay
    (for a mock running its clock faster).
    """

    queue_s: Mapping[str, float]
    processing_s: Mapping[str, float]
    min_interval: float = 2.0
    max_interval: float = 30.0
    first_check: float = 1.0
    time_scale: float = 1.0
    spread_fraction: float = 0.15
    eta_margin: float = 0.5
    _progress: list[tuple[float, float]] = field(default_factory=list, init=False, repr=False, compare=False)

    @classmethod
    def from_contract(cls, timing: Mapping[str, Any], *, time_scale: float = 1.0, **overrides: float) -> PollSchedule:
        return cls(timing["queue_s"], timing["processing_s"], time_scale=time_scale, **overrides)

    @classmethod
    def check_overrides(cls, overrides: Mapping[str, float]) -> dict[str, float]:
        """``overrides`` of the tunable fields (``Client(poll=...)``), checked: known names, positive numbers."""
        tunable = ("min_interval", "max_interval", "first_check", "spread_fraction", "eta_margin")
        checked: dict[str, float] = {}
        for name, value in overrides.items():
            if name not in tunable:
                raise ValueError(f"poll: {name!r} is not a poll setting; choose from {', '.join(tunable)}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"poll: {name} must be a positive number of seconds (or fraction), not {value!r}")
            checked[name] = float(value)
        if checked.get("min_interval", cls.min_interval) > checked.get("max_interval", cls.max_interval):
            raise ValueError("poll: min_interval must not exceed max_interval")
        return checked

    @property
    def spread(self) -> float:
        """The finish time's spread in seconds: the queue's and processing's ``(max - min) / 6``, combined."""

        def one(span: Mapping[str, float]) -> float:
            return (span.get("max", span.get("typical", 0) * 1.5) - span.get("min", span.get("typical", 0) * 0.5)) / 6

        return float(math.hypot(one(self.queue_s), one(self.processing_s)))

    def next_delay(self, elapsed: float, status: JobStatus | None, running_for: float | None = None) -> float:
        """Seconds (already scaled) to wait before the next status request (``running_for``: accepted, unused)."""
        scale = self.time_scale
        elapsed *= scale  # back to real job seconds
        if status is None:
            return self.first_check / scale
        eta = self._eta(elapsed, status)
        if eta is not None:  # far off: halfway there (at most 4 max_interval); close: just after the finish
            delay = min(eta / 2, 4 * self.max_interval) if eta > self.max_interval else eta + self.eta_margin
            return max(self.eta_margin, delay) / scale
        earliest = self.queue_s.get("min", 0) + self.processing_s.get("min", 0)
        typical = self.queue_s.get("typical", 0) + self.processing_s.get("typical", 0)
        window = self.spread * self.spread_fraction
        if elapsed < self.first_check:
            delay = self.first_check - elapsed
        elif elapsed < earliest:
            delay = earliest - elapsed
        elif elapsed < typical + 2 * self.spread:
            delay = window
        else:
            delay = max(window, (elapsed - typical) / 4)
        return max(self.min_interval, min(self.max_interval, delay)) / scale

    def _eta(self, elapsed: float, status: JobStatus) -> float | None:
        """Seconds to the finish from the progress rate; None without two samples that moved."""
        seen = self._progress
        if seen and elapsed < seen[-1][0]:  # a new wait on a reused schedule
            seen.clear()
        progress = status.progress
        if status.state != "running" or progress is None or progress <= 0:
            return None
        if progress >= 1:  # done by its own account, not yet finished: ask again shortly
            return float(self.min_interval)
        stalled = bool(seen) and progress <= seen[-1][1]
        seen.append((elapsed, progress))
        (first_at, first), (last_at, last) = seen[0], seen[-1]
        if stalled or last_at <= first_at or last <= first:
            return None  # no movement to measure: the timing profile decides
        return (1 - last) * (last_at - first_at) / (last - first)


@dataclass(frozen=True, repr=False)
class Endpoint:
    """One provider endpoint, ready to talk to: its protocol, base URL and key (never shown)."""

    provider: Any  # wan26core.provider.Provider
    protocol: ClientProtocol
    base_url: str
    key: str

    def __repr__(self) -> str:
        return f"<Endpoint {self.protocol.provider_id} {self.base_url}>"

    @property
    def id(self) -> str:
        return str(self.protocol.provider_id)


# --- operations ------------------------------------------------------------------------------------
def send_op(call: HttpCall, policy: RetryPolicy) -> Op[HttpReply]:
    """Send ``call`` with retries that never risk a second paid submit.

    GETs (idempotent calls) are retried on transport errors and retryable statuses. A submit is
    re-sent only when it provably never arrived (connection refused, DNS, TLS) or the provider
    refused it before accepting (429/503); an ambiguous failure raises :class:`SubmitUncertainError`.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            reply: HttpReply = yield Send(call)
        except httpx.TransportError as exc:
            never_sent = isinstance(exc, NEVER_SENT)
            if (call.idempotent or never_sent) and attempt < policy.attempts:
                yield Sleep(policy.delay(attempt))
                continue
            what = f"{call.method} {redact_url(call.url)}: {type(exc).__name__}"
            if not call.idempotent and not never_sent:
                raise SubmitUncertainError(f"no answer to {what}; the submit may have reached the provider") from None
            raise TransportError(f"{what} after {attempt} attempt(s)") from None
        retry_on = policy.retry_statuses if call.idempotent else policy.submit_retry_statuses
        if reply.status in retry_on and attempt < policy.attempts:
            yield Sleep(policy.delay(attempt, reply.retry_after))
            continue
        return reply


def submit_op(
    endpoint: Endpoint,
    wire: Any,  # wan26core.render.WireRequest
    request: Mapping[str, Any],
    *,
    journal: Journal | None,
    policy: RetryPolicy,
    webhook_url: str | None = None,
    label: str | None = None,
    mock: bool = False,
) -> Op[tuple[str | None, JobRef]]:
    """Journal the intent, POST once (safely retried), journal the accepted job; returns (local id, ref)."""
    protocol = endpoint.protocol
    call = protocol.submit_call(wire, key=endpoint.key, base_url=endpoint.base_url, webhook_url=webhook_url)
    local_id = None
    if journal is not None:
        local_id = journal.record_intent(endpoint.id, request, wire.body, base_url=endpoint.base_url, label=label, mock=mock).id
    try:
        reply = yield from send_op(call, policy)
    except SubmitUncertainError as exc:
        if journal is not None and local_id is not None:
            journal.record_unknown(local_id, exc.message)
        exc.local_id = local_id
        exc.provider = endpoint.id
        raise
    except TransportError as exc:
        if journal is not None and local_id is not None:
            journal.record_rejected(
                local_id, {"code": "transport", "message": exc.message, "http_status": None, "kind": "transport"}
            )
        raise
    try:
        ref = protocol.parse_submitted(reply)
    except MalformedResponseError as exc:
        if reply.ok:  # accepted, but we cannot read the job id: keep it findable, never re-send
            if journal is not None and local_id is not None:
                journal.record_unknown(local_id, exc.message)
            raise SubmitUncertainError(f"{endpoint.id} accepted the submit but {exc.message}", local_id=local_id) from None
        raise
    except Wan26Error as exc:
        if journal is not None and local_id is not None:
            journal.record_rejected(local_id, error_record(exc))
        raise
    if journal is not None and local_id is not None:
        journal.record_submitted(local_id, ref.job_id, dict(ref.urls))
    return local_id, ref


def upload_op(endpoint: Endpoint, request: GenerationRequest) -> Op[GenerationRequest]:
    """Upload every local file of ``request`` where the provider allows it; returns the request with URLs."""
    uploaded: dict[str, str] = {}
    for source in local_sources(request):
        path = Path(source)
        if not path.is_file():
            from .errors import ValidationError, Violation

            raise ValidationError([Violation("references", "source.missing", f"no such file: {source}", value=source)])
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        uploaded[source] = yield from endpoint.protocol.upload_op(
            path.read_bytes(), content_type, path.name, key=endpoint.key, base_url=endpoint.base_url
        )
    if not uploaded:
        return request
    references = tuple(replace(r, source=uploaded.get(r.source, r.source)) for r in request.references)
    return request.replace(
        references=references,
        image=uploaded.get(request.image, request.image) if request.image else None,
        audio=uploaded.get(request.audio, request.audio) if request.audio else None,
    )


def local_sources(request: GenerationRequest) -> list[str]:
    sources = [r.source for r in request.references] + [s for s in (request.image, request.audio) if s]
    return list(dict.fromkeys(s for s in sources if source_type(s) == "path"))


def status_op(endpoint: Endpoint, ref: JobRef, policy: RetryPolicy) -> Op[JobStatus]:
    call = endpoint.protocol.status_call(ref, key=endpoint.key, base_url=endpoint.base_url)
    reply = yield from send_op(call, policy)
    return endpoint.protocol.parse_status(reply, ref)


def result_op(endpoint: Endpoint, ref: JobRef, policy: RetryPolicy) -> Op[VideoResult]:
    """The finished job's video; an answer that cannot be read (a truncated body) is asked for again, as a poll is."""
    call = endpoint.protocol.result_call(ref, key=endpoint.key, base_url=endpoint.base_url)
    attempt = 0
    while True:
        attempt += 1
        reply = yield from send_op(call, policy)
        try:
            return endpoint.protocol.parse_result(reply, ref)
        except MalformedResponseError:
            if attempt >= policy.attempts:
                raise
            yield Sleep(policy.delay(attempt))


def cancel_op(endpoint: Endpoint, ref: JobRef, policy: RetryPolicy) -> Op[bool]:
    call = endpoint.protocol.cancel_call(ref, key=endpoint.key, base_url=endpoint.base_url)
    if call is None:
        from .errors import UnsupportedOptionError, Violation

        raise UnsupportedOptionError(
            [Violation("cancel", "option.unsupported", f"{endpoint.id} documents no way to cancel a job")], provider=endpoint.id
        )
    reply = yield from send_op(call, policy)
    return endpoint.protocol.parse_cancel(reply, ref)


#: errors worth waiting through: the job is still there, the way to it had a hiccup
_TRANSIENT = (TransportError, RateLimitError, MalformedResponseError)


def wait_op(
    endpoint: Endpoint,
    ref: JobRef,
    *,
    schedule: PollSchedule,
    policy: RetryPolicy,
    timeout: float | None = None,
    on_update: Callable[[JobStatus], None] | None = None,
    journal: Journal | None = None,
    local_id: str | None = None,
    stream: bool = True,
    max_transient: int = 10,
) -> Op[JobStatus]:
    """Wait until the job finishes: the status stream where the provider has one, else timed polls."""
    started = time.monotonic()
    deadline = started + timeout if timeout is not None else None
    tracker = _Tracker(journal, local_id, on_update)
    stream_call = endpoint.protocol.stream_call(ref, key=endpoint.key, base_url=endpoint.base_url) if stream else None
    if stream_call is not None:
        final = yield from _stream_until_done(endpoint, ref, stream_call, tracker, deadline)
        if final is not None:
            return final
    failures = 0
    while True:
        try:
            status = yield from status_op(endpoint, ref, policy)
            failures = 0
        except _TRANSIENT as exc:
            failures += 1
            if failures >= max_transient:
                raise
            yield Sleep(policy.delay(failures, getattr(exc, "retry_after", None)))
            continue
        except ProviderError as exc:
            failures += 1
            if not exc.retryable or failures >= max_transient:
                raise
            yield Sleep(policy.delay(failures))
            continue
        tracker.update(status)
        if status.finished:
            return status
        now = time.monotonic()
        delay = schedule.next_delay(now - started, status, tracker.running_for(now))
        if deadline is not None and now + delay > deadline:
            if now < deadline:
                yield Sleep(deadline - now)
                status = yield from status_op(endpoint, ref, policy)
                tracker.update(status)
                if status.finished:
                    return status
            raise JobTimeoutError(
                f"{endpoint.id} job {ref.job_id} still {status.state} after {timeout:g} s; it is not lost:"
                f" resume it with `wan26 jobs resume` or Client.job({(local_id or ref.job_id)!r}).wait()",
                job_id=local_id or ref.job_id,
                provider=endpoint.id,
            )
        yield Sleep(delay)


def _stream_until_done(
    endpoint: Endpoint, ref: JobRef, call: HttpCall, tracker: _Tracker, deadline: float | None
) -> Op[JobStatus | None]:
    """Follow the status stream; None when it ends early or breaks (the caller falls back to polling)."""
    read_timeout = max(0.05, deadline - time.monotonic()) if deadline is not None else None
    try:
        handle = yield OpenStream(call, read_timeout)
    except httpx.TransportError:
        return None
    if isinstance(handle, HttpReply):
        return None
    closing = False  # the generator is being closed (Ctrl-C, a cancelled task): it may not yield any more
    try:
        while True:
            if deadline is not None and time.monotonic() > deadline:
                return None
            try:
                data = yield NextEvent(handle, deadline)
            except httpx.TransportError:
                return None
            if data is None:
                return None
            try:
                status = endpoint.protocol.parse_event(data, ref)
            except MalformedResponseError:
                continue
            tracker.update(status)
            if status.finished:
                return status
    except GeneratorExit:
        closing = True  # the driver closes the stream it opened (see run_sync / run_async)
        raise
    finally:
        if not closing:
            yield CloseStream(handle)


class _Tracker:
    """Journals and reports each change of status once."""

    def __init__(self, journal: Journal | None, local_id: str | None, on_update: Callable[[JobStatus], None] | None) -> None:
        self.journal, self.local_id, self.on_update = journal, local_id, on_update
        self.last: JobStatus | None = None
        self.running_since: float | None = None

    def running_for(self, now: float) -> float | None:
        return now - self.running_since if self.running_since is not None else None

    def update(self, status: JobStatus) -> None:
        if status.state == "running" and self.running_since is None:
            self.running_since = time.monotonic()
        changed = self.last is None or (status.state, status.queue_position, status.progress, status.logs[-1:]) != (
            self.last.state,
            self.last.queue_position,
            self.last.progress,
            self.last.logs[-1:],
        )
        self.last = status
        if not changed:
            return
        if self.journal is not None and self.local_id is not None:
            record_status(self.journal, self.local_id, status)
        if self.on_update is not None:
            self.on_update(status)


def record_status(journal: Journal, local_id: str, status: JobStatus) -> None:
    journal.record_status(
        local_id,
        status.state,
        queue_position=status.queue_position,
        progress=status.progress,
        last_log=status.logs[-1] if status.logs else None,
        error=error_record(status.error) if status.error is not None else None,
        result=video_record(status.video) if status.video is not None else None,
    )


def error_record(error: Wan26Error) -> dict[str, Any]:
    return {
        "http_status": error.http_status,
        "code": error.native_code,
        "message": error.native_message or error.message,
        "kind": type(error).__name__,
    }


def video_record(video: VideoResult) -> dict[str, Any]:
    return {
        k: getattr(video, k)
        for k in ("url", "content_type", "file_size", "width", "height", "fps", "duration", "num_frames", "seed")
        if getattr(video, k) is not None
    }


# --- drivers ---------------------------------------------------------------------------------------
def _reply(response: httpx.Response) -> HttpReply:
    return HttpReply(
        response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content, str(response.url)
    )


class _SyncStream:
    def __init__(self, manager: contextlib.AbstractContextManager[httpx.Response], response: httpx.Response) -> None:
        self.manager, self.response = manager, response
        self.events: Iterator[str] = iter_sse(response.iter_lines())


class _AsyncStream:
    def __init__(self, manager: contextlib.AbstractAsyncContextManager[httpx.Response], response: httpx.Response) -> None:
        self.manager, self.response = manager, response
        self.events: AsyncIterator[str] = aiter_sse(response.aiter_lines())


def _timeout(http: httpx.Client | httpx.AsyncClient, effect: OpenStream) -> httpx.Timeout:
    base = http.timeout
    if effect.read_timeout is None:
        return base
    read = effect.read_timeout if base.read is None else min(base.read, effect.read_timeout)
    return httpx.Timeout(connect=base.connect, read=read, write=base.write, pool=base.pool)


def _next_event_by(stream: _SyncStream, deadline: float | None) -> str | None:
    """The stream's next event, or ``httpx.ReadTimeout`` at ``deadline`` (a blocking read would otherwise wait
    through every keep-alive): the read runs in a helper thread, cut off at the deadline."""
    if deadline is None:
        return next(stream.events, None)
    box: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)

    def pull() -> None:
        try:
            box.put((True, next(stream.events, None)))
        except BaseException as exc:  # handed to the waiting thread
            box.put((False, exc))

    threading.Thread(target=pull, name="wan26-stream-read", daemon=True).start()
    try:
        ok, value = box.get(timeout=max(0.0, deadline - time.monotonic()))
    except queue.Empty:
        sock = getattr(stream.response.extensions.get("network_stream"), "get_extra_info", lambda name: None)("socket")
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked read, which then ends
        raise httpx.ReadTimeout("no status event before the wait's deadline") from None
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


def _abandon(op: Op[Any]) -> None:
    """Close an operation the driver gives up on (Ctrl-C, a cancelled task) now, not at garbage collection."""
    with contextlib.suppress(Exception):
        op.close()


def run_sync(op: Op[T], http: httpx.Client, *, sleep: Callable[[float], None] = time.sleep) -> T:
    """Perform ``op``'s effects with a blocking httpx client."""
    outcome: Any = None
    error: BaseException | None = None
    streams: list[Any] = []  # opened and not yet closed by the operation
    try:
        while True:
            try:
                effect = op.throw(error) if error is not None else op.send(outcome)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            outcome, error = None, None
            try:
                if isinstance(effect, Send):
                    call = effect.call
                    outcome = _reply(
                        http.request(call.method, call.url, headers=dict(call.headers), json=call.json, content=call.content)
                    )
                elif isinstance(effect, Sleep):
                    sleep(effect.seconds)
                elif isinstance(effect, OpenStream):
                    call = effect.call
                    manager = http.stream(call.method, call.url, headers=dict(call.headers), timeout=_timeout(http, effect))
                    response = manager.__enter__()
                    if response.status_code != 200:
                        response.read()
                        manager.__exit__(None, None, None)
                        outcome = _reply(response)
                    else:
                        outcome = _SyncStream(manager, response)
                        streams.append(outcome)
                elif isinstance(effect, NextEvent):
                    outcome = _next_event_by(effect.stream, effect.deadline)
                elif isinstance(effect, CloseStream):
                    if effect.stream in streams:
                        streams.remove(effect.stream)
                    with contextlib.suppress(httpx.HTTPError):
                        effect.stream.manager.__exit__(None, None, None)
            except httpx.TransportError as exc:
                error = exc
    except BaseException:
        _abandon(op)
        for stream in streams:
            with contextlib.suppress(Exception):
                stream.manager.__exit__(None, None, None)
        raise


async def run_async(op: Op[T], http: httpx.AsyncClient) -> T:
    """Perform ``op``'s effects with an async httpx client."""
    outcome: Any = None
    error: BaseException | None = None
    streams: list[Any] = []  # opened and not yet closed by the operation
    try:
        while True:
            try:
                effect = op.throw(error) if error is not None else op.send(outcome)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            outcome, error = None, None
            try:
                if isinstance(effect, Send):
                    call = effect.call
                    outcome = _reply(
                        await http.request(
                            call.method, call.url, headers=dict(call.headers), json=call.json, content=call.content
                        )
                    )
                elif isinstance(effect, Sleep):
                    await asyncio.sleep(effect.seconds)
                elif isinstance(effect, OpenStream):
                    call = effect.call
                    manager = http.stream(call.method, call.url, headers=dict(call.headers), timeout=_timeout(http, effect))
                    response = await manager.__aenter__()
                    if response.status_code != 200:
                        await response.aread()
                        await manager.__aexit__(None, None, None)
                        outcome = _reply(response)
                    else:
                        outcome = _AsyncStream(manager, response)
                        streams.append(outcome)
                elif isinstance(effect, NextEvent):
                    if effect.deadline is None:
                        outcome = await anext(effect.stream.events, None)
                    else:
                        try:
                            outcome = await asyncio.wait_for(
                                anext(effect.stream.events, None), max(0.0, effect.deadline - time.monotonic())
                            )
                        except asyncio.TimeoutError:
                            raise httpx.ReadTimeout("no status event before the wait's deadline") from None
                elif isinstance(effect, CloseStream):
                    if effect.stream in streams:
                        streams.remove(effect.stream)
                    with contextlib.suppress(httpx.HTTPError):
                        await effect.stream.manager.__aexit__(None, None, None)
            except httpx.TransportError as exc:
                error = exc
    except BaseException:
        _abandon(op)
        for stream in streams:
            with contextlib.suppress(Exception):
                await stream.manager.__aexit__(None, None, None)
        raise


# --- server-sent events ----------------------------------------------------------------------------
class SSEDecoder:
    """Lines in, ``data`` payloads out (comments and other fields ignored), per the EventSource rules."""

    def __init__(self) -> None:
        self._data: list[str] = []

    def feed(self, line: str) -> str | None:
        line = line.rstrip("\r\n")
        if not line:
            if not self._data:
                return None
            data, self._data = "\n".join(self._data), []
            return data
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if name == "data":
            self._data.append(value[1:] if value.startswith(" ") else value)
        return None


def iter_sse(lines: Iterator[str]) -> Iterator[str]:
    decoder = SSEDecoder()
    for line in lines:
        data = decoder.feed(line)
        if data is not None:
            yield data


async def aiter_sse(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    decoder = SSEDecoder()
    async for line in lines:
        data = decoder.feed(line)
        if data is not None:
            yield data
