"""The job lifecycle, written once for the sync and async clients.

Each operation (submit, status, wait, result, cancel) is a generator that *yields effects* — send this
HTTP call, sleep this long, open/read/close a status stream — and receives their outcomes. A driver
(:mod:`wan26core._drivers`) performs the effects: ``run_sync`` with ``httpx.Client`` and ``time.sleep``,
``run_async`` with ``httpx.AsyncClient`` and ``asyncio.sleep``. Retries, the poll schedule, the journal and the rules for
when a submit may be re-sent therefore live in one place and are identical in both clients.
"""

from __future__ import annotations

import mimetypes
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from wan26core._errors import (
    JobTimeoutError,
    MalformedResponseError,
    ProviderError,
    RateLimitError,
    SubmitUncertainError,
    TransportError,
    Wan26Error,
)
from wan26core._policies import PollSchedule, RetryPolicy
from wan26core._protocol import ClientProtocol, HttpCall, HttpReply, JobRef, JobStatus, VideoResult, redact_url
from wan26core._rules.request import GenerationRequest, source_type

if TYPE_CHECKING:
    from wan26core._journal_base import JournalBase as Journal

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


@dataclass(frozen=True, repr=False)
class Endpoint:
    """One provider endpoint, ready to talk to: its protocol, base URL and key (never shown)."""

    provider: Any  # wan26core._provider.Provider
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
    wire: Any,  # wan26core._rules.render.WireRequest
    request: Mapping[str, Any],
    *,
    journal: Journal | None,
    policy: RetryPolicy,
    webhook_url: str | None = None,
    label: str | None = None,
    mock: bool = False,
    idempotency_key: str | None = None,
    idempotency_window: float | None = None,
    request_fingerprint: str | None = None,
    on_reuse: Callable[[], None] | None = None,
) -> Op[tuple[str | None, JobRef]]:
    """Journal the intent, POST once (safely retried), journal the accepted job; returns (local id, ref).

    ``idempotency_key``: a job journaled under the same key (by any worker sharing the journal) that is unfinished
    or younger than ``idempotency_window`` seconds is returned instead, and nothing is sent (docs/journal.md); then
    ``on_reuse`` is called. ``request_fingerprint``: what the key is given to (see ``JournalBase.record_intent_once``);
    a key whose job was made for another request raises ``IdempotencyKeyError`` before anything is sent."""
    protocol = endpoint.protocol
    call = protocol.submit_call(wire, key=endpoint.key, base_url=endpoint.base_url, webhook_url=webhook_url)
    local_id = None
    if journal is not None and idempotency_key is not None:
        window = {} if idempotency_window is None else {"window": idempotency_window}
        record, new = journal.record_intent_once(
            idempotency_key,
            endpoint.id,
            request,
            wire.body,
            base_url=endpoint.base_url,
            label=label,
            mock=mock,
            request_fingerprint=request_fingerprint,
            **window,
        )
        if not new:
            first = yield from _first_of_key(journal, record.id)
            if on_reuse is not None:
                on_reuse()
            return first
        local_id = record.id
    elif journal is not None:
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


#: how long a repeated submit waits for the first submit of its idempotency key to be answered
FIRST_OF_KEY_WAIT_S = 120.0


def _first_of_key(journal: Journal, local_id: str) -> Op[tuple[str | None, JobRef]]:
    """The job an earlier submit of the same idempotency key made, once the provider's answer to it is journaled."""
    waited = 0.0
    while True:
        record = journal.get(local_id)
        if record.remote_id is not None:
            return record.id, JobRef(record.provider, record.remote_id, dict(record.urls))
        if record.phase == "rejected":
            raise Wan26Error(
                f"the first submit with this idempotency key (job {record.short_id}) was refused:"
                f" {(record.error or {}).get('message', 'no reason recorded')}",
                provider=record.provider,
            )
        if record.phase == "unknown" or waited >= FIRST_OF_KEY_WAIT_S:
            raise SubmitUncertainError(
                f"the first submit with this idempotency key (job {record.short_id}) has no answer"
                f" ({record.phase}); it may have reached the provider: not sending it again",
                local_id=record.id,
                provider=record.provider,
            )
        yield Sleep(0.2)
        waited += 0.2


def upload_op(endpoint: Endpoint, request: GenerationRequest, policy: RetryPolicy) -> Op[GenerationRequest]:
    """Upload every local file of ``request`` where the provider allows it, under the client's retry ``policy``;
    returns the request with URLs."""
    uploaded: dict[str, str] = {}
    for source in local_sources(request):
        path = Path(source)
        if not path.is_file():
            from wan26core._errors import ValidationError, Violation

            raise ValidationError([Violation("references", "source.missing", f"no such file: {source}", value=source)])
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        uploaded[source] = yield from endpoint.protocol.upload_op(
            path.read_bytes(), content_type, path.name, key=endpoint.key, base_url=endpoint.base_url, policy=policy
        )
    if not uploaded:
        return request
    return request.map_sources(lambda source: uploaded.get(source, source))


def local_sources(request: GenerationRequest) -> list[str]:
    """The local files among every source of ``request`` (references, voices, frames, clip, audio), each once."""
    return list(dict.fromkeys(s for s in request.sources() if source_type(s) == "path"))


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
        from wan26core._errors import UnsupportedOptionError, Violation

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
