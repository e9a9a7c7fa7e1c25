"""``Client`` and ``AsyncClient``: submit, wait, fetch and download Wan 2.6 jobs on any provider.

>>> with Client() as client:                                            # doctest: +SKIP
...     result = client.generate({"prompt": "@cat waves", "references": [...]}, "fal/r2v-flash")
...     result.download("out.mp4")

Both clients run the same operations (``wan26core._runtime``); every submit is journaled before it is
sent and after it is accepted, so a crash or a timeout never loses a paid job.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from wan26core._download import DownloadedFile, adownload, download
from wan26core._errors import JobCancelledError, JobTimeoutError, ValidationError, Wan26Error
from wan26core._journal import JobRecord, Journal
from wan26core._plugins import Registry, default_registry
from wan26core._preflight import output_violations
from wan26core._protocol import JobRef, JobStatus, VideoResult
from wan26core._rules.render import WireRequest
from wan26core._rules.request import GenerationRequest
from wan26core._rules.validation import trusted_sources
from wan26core._runtime import (
    Endpoint,
    PollSchedule,
    RetryPolicy,
    cancel_op,
    record_status,
    result_op,
    run_async,
    run_sync,
    status_op,
    submit_op,
    upload_op,
    video_record,
    wait_op,
)

__all__ = ["AsyncClient", "AsyncJob", "AsyncResult", "Client", "Job", "Result"]

RequestLike = GenerationRequest | Mapping[str, Any]
_LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=100)
UpdateCallback = Callable[[JobStatus], None]


class _Core:
    """What both clients share: endpoints, rendering, the journal, policies."""

    def __init__(
        self,
        provider: str | None,
        *,
        api_key: str | None,
        base_url: str | None,
        keys: Mapping[str, str] | None,
        base_urls: Mapping[str, str] | None,
        registry: Registry | None,
        journal: Journal | str | os.PathLike[str] | bool | None,
        retry: RetryPolicy | None,
        time_scale: float,
        stream: bool,
        poll: Mapping[str, float] | None,
        environ: Mapping[str, str] | None,
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
        if journal is True:
            self.journal: Journal | None = Journal()
        elif journal is False or journal is None:
            self.journal = None
        elif isinstance(journal, Journal):
            self.journal = journal
        else:
            self.journal = Journal(journal)
        self._endpoints: dict[str, Endpoint] = {}

    def __repr__(self) -> str:
        journal = self.journal.path if self.journal is not None else None
        return f"<{type(self).__name__} provider={self.default_provider!r} journal={str(journal) if journal else None!r}>"

    def endpoint(self, provider: str | None = None, *, base_url: str | None = None) -> Endpoint:
        """The endpoint of ``provider``; ``base_url`` pins where it is (a journaled job's own base URL)."""
        provider_id = provider or self.default_provider
        if provider_id is None:
            raise ValueError("which provider? pass provider='fal/r2v-flash' (see `wan26 providers`)")
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
            raise ValueError("which provider? pass provider='fal/r2v-flash' (see `wan26 providers`)")
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

    def rerender(self, endpoint: Endpoint, uploaded: GenerationRequest, wire: WireRequest) -> WireRequest:
        """The wire request once local files became URLs (the URLs the provider's storage issued are trusted)."""
        if not wire.local_files:
            return wire
        issued = [r.source for r in uploaded.references] + [s for s in (uploaded.image, uploaded.audio) if s]
        with trusted_sources(issued):
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


# --- sync ------------------------------------------------------------------------------------------
class Client(_Core):
    """Run jobs with blocking calls. Keys and base URLs default to each provider's environment variables.

    ``mock=True``: the client talks to a mock (its ``http`` transport or base URLs point there): its jobs are
    journaled as mock jobs, and it follows only mock jobs of the journal, as a default client follows only real
    ones, so that a mock job's id is never sent to the provider.

    ``poll`` tunes the poll schedule of providers without a status stream (see
    :class:`~wan26core._runtime.PollSchedule`): e.g. ``poll={"spread_fraction": 0.02, "max_interval": 3}`` notices
    a finished job within about 3 s for several times the requests.
    """

    def __init__(
        self,
        provider: str | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        keys: Mapping[str, str] | None = None,
        base_urls: Mapping[str, str] | None = None,
        registry: Registry | None = None,
        journal: Journal | str | os.PathLike[str] | bool | None = True,
        http: httpx.Client | None = None,
        timeout: float | httpx.Timeout = 60.0,
        retry: RetryPolicy | None = None,
        time_scale: float = 1.0,
        stream: bool = True,
        poll: Mapping[str, float] | None = None,
        environ: Mapping[str, str] | None = None,
        mock: bool = False,
    ) -> None:
        super().__init__(
            provider,
            api_key=api_key,
            base_url=base_url,
            keys=keys,
            base_urls=base_urls,
            registry=registry,
            journal=journal,
            retry=retry,
            time_scale=time_scale,
            stream=stream,
            poll=poll,
            environ=environ,
            mock=mock,
        )
        self._own_http = http is None
        self.http = http or httpx.Client(timeout=timeout, follow_redirects=True)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def submit(
        self,
        request: RequestLike,
        provider: str | None = None,
        *,
        webhook_url: str | None = None,
        label: str | None = None,
        output: str | os.PathLike[str] | None = None,
        overwrite: bool = False,
    ) -> Job:
        """Validate, journal and send the request once; returns as soon as the provider accepted it.

        ``output``: where the video will be saved; checked with the request before anything is sent, and
        journaled so that ``wan26 jobs resume`` can fetch it there if this process dies first.
        """
        endpoint, req, wire = self.prepare(request, provider, output=output, overwrite=overwrite)
        if wire.local_files:
            req = run_sync(upload_op(endpoint, req), self.http)
            wire = self.rerender(endpoint, req, wire)
        op = submit_op(
            endpoint,
            wire,
            req.to_dict(),
            journal=self.journal,
            policy=self.retry,
            webhook_url=webhook_url,
            label=label,
            mock=self.mock,
        )
        local_id, ref = run_sync(op, self.http)
        if output is not None:
            self.want_output(local_id, output, overwrite)
        return Job(self, endpoint, ref, local_id)

    def job(self, ident: str) -> Job:
        """A journaled job by local id (or a unique prefix of it) or the provider's job id."""
        record = self.record(ident)
        endpoint, ref = self.ref_of(record)
        return Job(self, endpoint, ref, record.id)

    def generate(
        self,
        request: RequestLike,
        provider: str | None = None,
        *,
        output: str | os.PathLike[str] | None = None,
        timeout: float | None = None,
        cancel_on_timeout: bool = False,
        on_update: UpdateCallback | None = None,
        overwrite: bool = False,
        label: str | None = None,
    ) -> Result:
        """Submit, wait and fetch the result (and download it to ``output`` when given).

        ``output`` is journaled as soon as the job is accepted: if this process dies before the download
        completes, ``wan26 jobs resume`` downloads the video there.
        """
        job = self.submit(request, provider, label=label, output=output, overwrite=overwrite)
        result = job.wait(timeout=timeout, cancel_on_timeout=cancel_on_timeout, on_update=on_update)
        if output is not None:
            result.download(output, overwrite=overwrite)
        return result


class Job:
    """A job the provider accepted. ``id`` is the journal's local id (or the provider's id without a journal)."""

    def __init__(self, client: Client, endpoint: Endpoint, ref: JobRef, local_id: str | None) -> None:
        self._client, self._endpoint, self.ref, self.local_id = client, endpoint, ref, local_id

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.provider} remote={self.remote_id}>"

    @property
    def id(self) -> str:
        return self.local_id or self.ref.job_id

    @property
    def remote_id(self) -> str:
        return self.ref.job_id

    @property
    def provider(self) -> str:
        return self._endpoint.id

    def status(self) -> JobStatus:
        status = run_sync(status_op(self._endpoint, self.ref, self._client.retry), self._client.http)
        if self._client.journal is not None and self.local_id is not None:
            record_status(self._client.journal, self.local_id, status)
        return status

    def wait(
        self, *, timeout: float | None = None, cancel_on_timeout: bool = False, on_update: UpdateCallback | None = None
    ) -> Result:
        """Follow the job until it finishes; raises its native error if it failed, JobTimeoutError if time ran out."""
        client = self._client
        op = wait_op(
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
        try:
            status = run_sync(op, client.http)
        except JobTimeoutError:
            if cancel_on_timeout:
                self.cancel()
            raise
        _outcome(status, self.id, self.provider)
        return self._result(status.video)

    def result(self) -> Result:
        """The result of a finished job (raises its native error if it failed)."""
        return self._result(None)

    def _result(self, video: VideoResult | None) -> Result:
        if video is None:
            video = run_sync(result_op(self._endpoint, self.ref, self._client.retry), self._client.http)
        if self._client.journal is not None and self.local_id is not None:
            self._client.journal.record_status(self.local_id, "succeeded", result=video_record(video))
        return Result(self, video)

    def cancel(self) -> bool:
        """Ask the provider to cancel; False when the job was past cancelling."""
        accepted = run_sync(cancel_op(self._endpoint, self.ref, self._client.retry), self._client.http)
        if accepted and self._client.journal is not None and self.local_id is not None:
            self._client.journal.record_status(self.local_id, "cancelled")
        return accepted


class Result:
    """A finished job's video."""

    def __init__(self, job: Job | AsyncJob, video: VideoResult) -> None:
        self.job, self.video = job, video

    def __repr__(self) -> str:
        return f"<Result {self.job.id} {self.video.url}>"

    @property
    def url(self) -> str:
        return self.video.url

    def download(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> DownloadedFile:
        """Stream the video to ``path`` (atomically: never a partial file under that name)."""
        job = self.job
        assert isinstance(job, Job)
        file = download(self.video.url, path, client=job._client.http, expected_size=self.video.file_size, overwrite=overwrite)
        if job._client.journal is not None and job.local_id is not None:
            job._client.journal.record_download(job.local_id, str(Path(file.path).resolve()))
        return file


# --- async -----------------------------------------------------------------------------------------
class AsyncClient(_Core):
    """The same as :class:`Client`, with ``await``; many jobs can wait concurrently."""

    def __init__(
        self,
        provider: str | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        keys: Mapping[str, str] | None = None,
        base_urls: Mapping[str, str] | None = None,
        registry: Registry | None = None,
        journal: Journal | str | os.PathLike[str] | bool | None = True,
        http: httpx.AsyncClient | None = None,
        timeout: float | httpx.Timeout = 60.0,
        retry: RetryPolicy | None = None,
        time_scale: float = 1.0,
        stream: bool = True,
        poll: Mapping[str, float] | None = None,
        environ: Mapping[str, str] | None = None,
        mock: bool = False,
    ) -> None:
        super().__init__(
            provider,
            api_key=api_key,
            base_url=base_url,
            keys=keys,
            base_urls=base_urls,
            registry=registry,
            journal=journal,
            retry=retry,
            time_scale=time_scale,
            stream=stream,
            poll=poll,
            environ=environ,
            mock=mock,
        )
        self._own_http = http is None
        # no cap on connections: each fal job holds one for its status stream, and with httpx's default of 100
        # a thousand concurrent jobs queue their polls behind the streams (bench/client_concurrency.py: 96 s -> 21 s)
        self.http = http or httpx.AsyncClient(timeout=timeout, follow_redirects=True, limits=_LIMITS)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()

    async def submit(
        self,
        request: RequestLike,
        provider: str | None = None,
        *,
        webhook_url: str | None = None,
        label: str | None = None,
        output: str | os.PathLike[str] | None = None,
        overwrite: bool = False,
    ) -> AsyncJob:
        endpoint, req, wire = self.prepare(request, provider, output=output, overwrite=overwrite)
        if wire.local_files:
            req = await run_async(upload_op(endpoint, req), self.http)
            wire = self.rerender(endpoint, req, wire)
        op = submit_op(
            endpoint,
            wire,
            req.to_dict(),
            journal=self.journal,
            policy=self.retry,
            webhook_url=webhook_url,
            label=label,
            mock=self.mock,
        )
        local_id, ref = await run_async(op, self.http)
        if output is not None:
            self.want_output(local_id, output, overwrite)
        return AsyncJob(self, endpoint, ref, local_id)

    def job(self, ident: str) -> AsyncJob:
        record = self.record(ident)
        endpoint, ref = self.ref_of(record)
        return AsyncJob(self, endpoint, ref, record.id)

    async def generate(
        self,
        request: RequestLike,
        provider: str | None = None,
        *,
        output: str | os.PathLike[str] | None = None,
        timeout: float | None = None,
        cancel_on_timeout: bool = False,
        on_update: UpdateCallback | None = None,
        overwrite: bool = False,
        label: str | None = None,
    ) -> AsyncResult:
        job = await self.submit(request, provider, label=label, output=output, overwrite=overwrite)
        result = await job.wait(timeout=timeout, cancel_on_timeout=cancel_on_timeout, on_update=on_update)
        if output is not None:
            await result.download(output, overwrite=overwrite)
        return result


class AsyncJob:
    """:class:`Job` with ``await``."""

    def __init__(self, client: AsyncClient, endpoint: Endpoint, ref: JobRef, local_id: str | None) -> None:
        self._client, self._endpoint, self.ref, self.local_id = client, endpoint, ref, local_id

    def __repr__(self) -> str:
        return f"<AsyncJob {self.id} {self.provider} remote={self.remote_id}>"

    @property
    def id(self) -> str:
        return self.local_id or self.ref.job_id

    @property
    def remote_id(self) -> str:
        return self.ref.job_id

    @property
    def provider(self) -> str:
        return self._endpoint.id

    async def status(self) -> JobStatus:
        status = await run_async(status_op(self._endpoint, self.ref, self._client.retry), self._client.http)
        if self._client.journal is not None and self.local_id is not None:
            record_status(self._client.journal, self.local_id, status)
        return status

    async def wait(
        self, *, timeout: float | None = None, cancel_on_timeout: bool = False, on_update: UpdateCallback | None = None
    ) -> AsyncResult:
        client = self._client
        op = wait_op(
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
        try:
            status = await run_async(op, client.http)
        except JobTimeoutError:
            if cancel_on_timeout:
                await self.cancel()
            raise
        _outcome(status, self.id, self.provider)
        return await self._result(status.video)

    async def result(self) -> AsyncResult:
        return await self._result(None)

    async def _result(self, video: VideoResult | None) -> AsyncResult:
        if video is None:
            video = await run_async(result_op(self._endpoint, self.ref, self._client.retry), self._client.http)
        if self._client.journal is not None and self.local_id is not None:
            self._client.journal.record_status(self.local_id, "succeeded", result=video_record(video))
        return AsyncResult(self, video)

    async def cancel(self) -> bool:
        accepted = await run_async(cancel_op(self._endpoint, self.ref, self._client.retry), self._client.http)
        if accepted and self._client.journal is not None and self.local_id is not None:
            self._client.journal.record_status(self.local_id, "cancelled")
        return accepted


class AsyncResult(Result):
    """:class:`Result` with an async ``download``."""

    async def download(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> DownloadedFile:  # type: ignore[override]
        job = self.job
        assert isinstance(job, AsyncJob)
        file = await adownload(
            self.video.url, path, client=job._client.http, expected_size=self.video.file_size, overwrite=overwrite
        )
        if job._client.journal is not None and job.local_id is not None:
            job._client.journal.record_download(job.local_id, str(Path(file.path).resolve()))
        return file
