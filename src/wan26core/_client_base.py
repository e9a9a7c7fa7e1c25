"""What :class:`~wan26core.Client` and :class:`~wan26core.AsyncClient` share, none of it I/O: the configuration, the
endpoint of each provider, preparing (validating, rendering) a request, the journal's records, and the job and
result identity and bookkeeping, the whole submit as one operation. :mod:`wan26core._client` adds the two ways of
running: blocking and awaitable."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx

from wan26core._download import DownloadedFile
from wan26core._errors import JobCancelledError, ValidationError, Wan26Error
from wan26core._journal import JobRecord, Journal, open_journal
from wan26core._journal_base import (
    IdempotencyKeyError,
    JournalBase,
    check_idempotency_key,
    compute_request_fingerprint,
    fingerprint,
)
from wan26core._plugins import Registry, default_registry
from wan26core._preflight import output_violations
from wan26core._protocol import JobRef, JobStatus, VideoResult
from wan26core._rules.render import WireRequest
from wan26core._rules.request import GenerationRequest
from wan26core._rules.validation import trusted_sources
from wan26core._runtime import (
    Endpoint,
    Op,
    PollSchedule,
    RetryPolicy,
    cancel_op,
    record_status,
    result_op,
    status_op,
    submit_op,
    upload_op,
    video_record,
    wait_op,
)

__all__ = ["ClientBase", "JobBase", "RequestLike", "ResultBase", "UpdateCallback"]


RequestLike = GenerationRequest | Mapping[str, Any]


UpdateCallback = Callable[[JobStatus], None]

#: the HTTP client of :class:`~wan26core.Client` or of :class:`~wan26core.AsyncClient`
HttpT = TypeVar("HttpT", bound=httpx.Client | httpx.AsyncClient)


class ClientBase(Generic[HttpT]):
    """What both clients share: endpoints, rendering, the journal, policies, and their one constructor."""

    def __init__(
        self,
        provider: str | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        keys: Mapping[str, str] | None = None,
        base_urls: Mapping[str, str] | None = None,
        registry: Registry | None = None,
        journal: JournalBase | str | os.PathLike[str] | bool | None = True,
        http: HttpT | None = None,
        timeout: float | httpx.Timeout = 60.0,
        retry: RetryPolicy | None = None,
        time_scale: float = 1.0,
        stream: bool = True,
        poll: Mapping[str, float] | None = None,
        environ: Mapping[str, str] | None = None,
        mock: bool = False,
    ) -> None:
        self.default_provider = provider
        #: jobs go to a mock (journaled as mock jobs); only mock jobs of the journal may be followed, and vice versa
        self.mock = mock
        self.registry = registry or default_registry()
        self._keys = {k: v for k, v in (keys or {}).items()}
        self._base_urls = dict(base_urls or {})
        if provider is not None:
            owner = provider.split("/")[0]
            if api_key is not None:
                self._keys[owner] = api_key
            if base_url is not None:
                self._base_urls[owner] = base_url
        elif api_key is not None or base_url is not None:
            raise ValueError("api_key= and base_url= need provider= (or use keys={...} / base_urls={...})")
        self.environ = environ
        self.retry = retry or RetryPolicy()
        self.time_scale = time_scale
        self.stream = stream
        self.poll = PollSchedule.check_overrides(poll or {})
        #: a journal this client opened from a URL holds server connections: closed with the client
        self._own_journal = not isinstance(journal, JournalBase)
        if journal is True:  # $WAN26_JOURNAL_URL, else the default SQLite file
            self.journal: JournalBase | None = open_journal()
        elif journal is False or journal is None:
            self.journal = None
        else:  # a journal, a SQLite path or a postgresql:// URL
            self.journal = open_journal(journal)
        self._endpoints: dict[str, Endpoint] = {}
        self._own_http = http is None
        self.http: HttpT = http or self._new_http(timeout)

    def _new_http(self, timeout: float | httpx.Timeout) -> HttpT:
        """The HTTP client made when none is given (the client closes it when it is closed)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        journal = self.journal.location if self.journal is not None else None
        return f"<{type(self).__name__} provider={self.default_provider!r} journal={journal!r}>"

    def close_own_journal(self) -> None:
        """Close a server-backed journal this client opened itself (a SQLite file stays usable, as it always was)."""
        if self._own_journal and self.journal is not None and not isinstance(self.journal, Journal):
            self.journal.close()

    def endpoint(self, provider: str | None = None, *, base_url: str | None = None) -> Endpoint:
        """The endpoint of ``provider``; ``base_url`` pins where it is (a journaled job's own base URL)."""
        provider_id = provider or self.default_provider
        if provider_id is None:
            raise ValueError("which provider? pass provider='<provider>/<model>' (`wan26 providers` lists them)")
        key = f"{provider_id} {base_url or ''}"
        if key not in self._endpoints:
            plugin = self.registry.get(provider_id)
            protocol = plugin.protocol
            owner = provider_id.split("/")[0]
            self._endpoints[key] = Endpoint(
                plugin,
                protocol,
                base_url or protocol.base_url(self._base_urls.get(owner), self.environ),
                protocol.api_key(self._keys.get(owner), self.environ),
            )
        return self._endpoints[key]

    def prepare(
        self,
        request: RequestLike,
        provider: str | None,
        *,
        output: str | os.PathLike[str] | None = None,
        overwrite: bool = False,
    ) -> tuple[Endpoint, GenerationRequest, WireRequest]:
        """Validate everything before anything is sent: the request, its local files and ``output``, all at once."""
        provider_id = provider or self.default_provider
        if provider_id is None:
            raise ValueError("which provider? pass provider='<provider>/<model>' (`wan26 providers` lists them)")
        found = output_violations(output, overwrite=overwrite) if output is not None else []
        try:
            req = request if isinstance(request, GenerationRequest) else GenerationRequest.from_dict(request)
            wire: WireRequest = self.registry.get(provider_id).render(req)  # validate before uploading anything
        except ValidationError as exc:
            kind = type(exc) if not found else ValidationError
            raise kind([*found, *exc.violations], provider=exc.provider or provider_id) from None
        if found:
            raise ValidationError(found, provider=provider_id)
        return self.endpoint(provider_id), req, wire

    def _submission(
        self,
        request: RequestLike,
        provider: str | None,
        *,
        webhook_url: str | None,
        label: str | None,
        output: str | os.PathLike[str] | None,
        overwrite: bool,
        idempotency_key: str | bool | None = None,
        idempotency_window: float | None = None,
    ) -> Op[tuple[Endpoint, JobRef, str | None, bool]]:
        """The whole submit as one operation: validate, upload local files, journal and send, journal ``output``;
        the last item says whether an idempotency key answered with an earlier job (nothing was sent)."""
        reused: list[bool] = []
        endpoint, req, wire = self.prepare(request, provider, output=output, overwrite=overwrite)
        key = self.idempotency(idempotency_key, endpoint, req)
        # what the key is given to: the request as the caller gave it (an upload's URL differs on every run)
        request_fp = compute_request_fingerprint(endpoint.id, req.to_dict(), mock=self.mock) if key is not None else None
        if wire.local_files:
            if key is not None and request_fp is not None and self.journal is not None:  # refused before any upload
                window = {} if idempotency_window is None else {"window": idempotency_window}
                self.journal.check_idempotency(key, request_fp, **window)
            req = yield from upload_op(endpoint, req, self.retry)
            wire = self.rerender(endpoint, req, wire)
        local_id, ref = yield from submit_op(
            endpoint,
            wire,
            req.to_dict(),
            journal=self.journal,
            policy=self.retry,
            webhook_url=webhook_url,
            label=label,
            mock=self.mock,
            idempotency_key=key,
            idempotency_window=idempotency_window,
            request_fingerprint=request_fp,
            on_reuse=lambda: reused.append(True),
        )
        if output is not None:
            self.want_output(local_id, output, overwrite)
        return endpoint, ref, local_id, bool(reused)

    def idempotency(self, key: str | bool | None, endpoint: Endpoint, request: GenerationRequest) -> str | None:
        """The journal's idempotency key for a submit: the user's, the request's fingerprint (True), or None (off)."""
        if key is None or key is False:
            return None
        if self.journal is None:
            raise ValueError("idempotency_key= needs a journal (journal=False keeps no record of earlier submits)")
        if key is True:
            return f"fingerprint:{endpoint.id}:{fingerprint(request.to_dict())}"
        if not isinstance(key, str):
            raise IdempotencyKeyError(f"idempotency_key must be a non-empty string or True, not {key!r}")
        check_idempotency_key(key)  # non-blank UTF-8 text, checked before anything is sent
        return key

    def _located(self, ident: str) -> tuple[Endpoint, JobRef, str]:
        """A journaled job's endpoint, reference and local id, by local id (or a unique prefix) or provider job id."""
        record = self.record(ident)
        endpoint, ref = self.ref_of(record)
        return endpoint, ref, record.id

    def rerender(self, endpoint: Endpoint, uploaded: GenerationRequest, wire: WireRequest) -> WireRequest:
        """The wire request once local files became URLs (the URLs the provider's storage issued are trusted)."""
        if not wire.local_files:
            return wire
        with trusted_sources(uploaded.sources()):
            rendered: WireRequest = endpoint.provider.render(uploaded)
        return rendered

    def schedule(self, endpoint: Endpoint) -> PollSchedule:
        timing = endpoint.provider.contract.data["timing"]
        return PollSchedule.from_contract(timing, time_scale=self.time_scale, **self.poll)

    def record(self, ident: str) -> JobRecord:
        if self.journal is None:
            raise ValueError("this client has no journal (journal=False): keep the Job object instead")
        record = self.journal.get(ident)
        if record.mock != self.mock:
            where = "the embedded mock" if record.mock else f"{record.provider} itself (a real, paid job)"
            raise Wan26Error(
                f"job {record.short_id} ran on {where}; this client talks to "
                f"{'a mock' if self.mock else 'the real provider'} and will not follow it there"
                + (" (the wan26 commands follow mock jobs on the embedded mock)" if record.mock else ""),
                provider=record.provider,
            )
        if record.remote_id is None:
            raise Wan26Error(
                f"job {record.id} was never accepted by {record.provider} (phase {record.phase}); nothing to follow",
                provider=record.provider,
            )
        return record

    def want_output(self, local_id: str | None, output: str | os.PathLike[str], overwrite: bool) -> None:
        """Journal where the video is to go, so that ``wan26 jobs resume`` can fetch it if this process dies first."""
        if self.journal is not None and local_id is not None:
            self.journal.record_wanted_output(local_id, output, overwrite=overwrite)

    def ref_of(self, record: JobRecord) -> tuple[Endpoint, JobRef]:
        endpoint = self.endpoint(record.provider, base_url=record.base_url)
        assert record.remote_id is not None
        return endpoint, JobRef(record.provider, record.remote_id, dict(record.urls))


def _outcome(status: JobStatus, job_id: str, provider: str) -> None:
    """Raise the job's error when it did not succeed."""
    if status.state == "failed" and status.error is not None:
        if hasattr(status.error, "job_id"):  # the id the caller knows (the journal maps it to the provider's)
            status.error.job_id = job_id
        raise status.error
    if status.state == "cancelled":
        raise JobCancelledError(f"{provider} job {job_id} was cancelled", job_id=job_id, provider=provider)
    if status.state != "succeeded":
        raise Wan26Error(f"{provider} job {job_id} ended in state {status.state} ({status.native})", provider=provider)


class JobBase:
    """What :class:`Job` and :class:`AsyncJob` share: identity, the operations they run and the journal writes.

    Only the running is mirrored (``run_sync`` with the client's ``httpx.Client`` in :class:`Job`, ``await run_async``
    with its ``httpx.AsyncClient`` in :class:`AsyncJob`): a method cannot be both blocking and awaitable."""

    _client: ClientBase[Any]

    def __init__(self, endpoint: Endpoint, ref: JobRef, local_id: str | None, reused: bool = False) -> None:
        self._endpoint, self.ref, self.local_id = endpoint, ref, local_id
        #: True when the submit's idempotency key answered with an earlier job: nothing was sent
        self.reused = reused

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.provider} remote={self.remote_id}>"

    @property
    def id(self) -> str:
        return self.local_id or self.ref.job_id

    @property
    def remote_id(self) -> str:
        return self.ref.job_id

    @property
    def provider(self) -> str:
        return self._endpoint.id

    def _status_op(self) -> Op[JobStatus]:
        return status_op(self._endpoint, self.ref, self._client.retry)

    def _seen(self, status: JobStatus) -> JobStatus:
        if self._client.journal is not None and self.local_id is not None:
            record_status(self._client.journal, self.local_id, status)
        return status

    def _wait_op(self, timeout: float | None, on_update: UpdateCallback | None) -> Op[JobStatus]:
        client = self._client
        return wait_op(
            self._endpoint,
            self.ref,
            schedule=client.schedule(self._endpoint),
            policy=client.retry,
            timeout=timeout,
            on_update=on_update,
            journal=client.journal,
            local_id=self.local_id,
            stream=client.stream,
        )

    def _finished(self, status: JobStatus) -> VideoResult | None:
        _outcome(status, self.id, self.provider)
        return status.video

    def _result_op(self) -> Op[VideoResult]:
        return result_op(self._endpoint, self.ref, self._client.retry)

    def _succeeded(self, video: VideoResult) -> VideoResult:
        if self._client.journal is not None and self.local_id is not None:
            self._client.journal.record_status(self.local_id, "succeeded", result=video_record(video))
        return video

    def _cancel_op(self) -> Op[bool]:
        return cancel_op(self._endpoint, self.ref, self._client.retry)

    def _cancelled(self, accepted: bool) -> bool:
        if accepted and self._client.journal is not None and self.local_id is not None:
            self._client.journal.record_status(self.local_id, "cancelled")
        return accepted

    def _downloaded(self, file: DownloadedFile) -> DownloadedFile:
        if self._client.journal is not None and self.local_id is not None:
            self._client.journal.record_download(self.local_id, str(Path(file.path).resolve()))
        return file


class ResultBase:
    """A finished job's video (what :class:`Result` and :class:`AsyncResult` share)."""

    def __init__(self, job: JobBase, video: VideoResult) -> None:
        self.job, self.video = job, video

    def __repr__(self) -> str:
        return f"<Result {self.job.id} {self.video.url}>"

    @property
    def url(self) -> str:
        return self.video.url
