"""``Client`` and ``AsyncClient``: submit, wait, fetch and download Wan video jobs on any provider.

>>> with Client() as client:                                            # doctest: +SKIP
...     result = client.generate({"prompt": "@cat waves", "references": [...]}, "fal/r2v-flash")
...     result.download("out.mp4")

Both clients run the same operations (``wan26core._runtime``); every submit is journaled before it is
sent and after it is accepted, so a crash or a timeout never loses a paid job. What the sync and async classes
share (the constructor, the submit as one operation, the bookkeeping) is in :mod:`wan26core._client_base`; what
remains here twice is each method that runs I/O (``run_sync`` with an ``httpx.Client`` against ``await run_async``
with an ``httpx.AsyncClient``), as in httpx: a method cannot be both blocking and awaitable. Their long signatures
are written compactly (``# fmt: skip``), so that a mirrored method is mostly the lines that differ.
"""

from __future__ import annotations

import os

import httpx

from wan26core._client_base import ClientBase, JobBase, RequestLike, ResultBase, UpdateCallback
from wan26core._download import DownloadedFile, adownload, download
from wan26core._drivers import run_async, run_sync
from wan26core._errors import JobTimeoutError
from wan26core._protocol import JobRef, JobStatus, VideoResult
from wan26core._runtime import Endpoint

__all__ = ["AsyncClient", "AsyncJob", "AsyncResult", "Client", "Job", "Result"]

_LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=100)


# --- sync ------------------------------------------------------------------------------------------
class Client(ClientBase[httpx.Client]):
    """Run jobs with blocking calls. Keys and base URLs default to each provider's environment variables.

    ``mock=True``: the client talks to a mock (its ``http`` transport or base URLs point there): its jobs are
    journaled as mock jobs, and it follows only mock jobs of the journal, as a default client follows only real
    ones, so that a mock job's id is never sent to the provider.

    ``poll`` tunes the poll schedule of providers without a status stream (see
    :class:`~wan26core._runtime.PollSchedule`): e.g. ``poll={"spread_fraction": 0.02, "max_interval": 3}`` notices
    a finished job within about 3 s for several times the requests.
    """

    def _new_http(self, timeout: float | httpx.Timeout) -> httpx.Client:
        return httpx.Client(timeout=timeout, follow_redirects=True)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own_http:
            self.http.close()
        self.close_own_journal()

    def submit(
        self, request: RequestLike, provider: str | None = None, *, webhook_url: str | None = None,
        label: str | None = None, output: str | os.PathLike[str] | None = None, overwrite: bool = False,
        idempotency_key: str | bool | None = None, idempotency_window: float | None = None,
    ) -> Job:  # fmt: skip
        """Validate, journal and send the request once; returns as soon as the provider accepted it.

        ``output``: where the video will be saved; checked with the request before anything is sent, and
        journaled so that ``wan26 jobs resume`` can fetch it there if this process dies first.

        ``idempotency_key`` (off by default): a key of yours, or True for the request's fingerprint. A second
        submit of the same key, from any worker sharing the journal, returns the first job instead of paying again
        while that job is unfinished or younger than ``idempotency_window`` seconds (default 24 h).
        """
        submission = self._submission(
            request, provider, webhook_url=webhook_url, label=label, output=output, overwrite=overwrite,
            idempotency_key=idempotency_key, idempotency_window=idempotency_window,
        )  # fmt: skip
        return Job(self, *run_sync(submission, self.http))

    def job(self, ident: str) -> Job:
        """A journaled job by local id (or a unique prefix of it) or the provider's job id."""
        return Job(self, *self._located(ident))

    def generate(
        self, request: RequestLike, provider: str | None = None, *, output: str | os.PathLike[str] | None = None,
        timeout: float | None = None, cancel_on_timeout: bool = False, on_update: UpdateCallback | None = None,
        overwrite: bool = False, label: str | None = None,
    ) -> Result:  # fmt: skip
        """Submit, wait and fetch the result (and download it to ``output`` when given).

        ``output`` is journaled as soon as the job is accepted: if this process dies before the download
        completes, ``wan26 jobs resume`` downloads the video there.
        """
        job = self.submit(request, provider, label=label, output=output, overwrite=overwrite)
        result = job.wait(timeout=timeout, cancel_on_timeout=cancel_on_timeout, on_update=on_update)
        if output is not None:
            result.download(output, overwrite=overwrite)
        return result


class Job(JobBase):
    """A job the provider accepted. ``id`` is the journal's local id (or the provider's id without a journal)."""

    def __init__(self, client: Client, endpoint: Endpoint, ref: JobRef, local_id: str | None, reused: bool = False) -> None:
        super().__init__(endpoint, ref, local_id, reused)
        self._client: Client = client

    def status(self) -> JobStatus:
        return self._seen(run_sync(self._status_op(), self._client.http))

    def wait(
        self, *, timeout: float | None = None, cancel_on_timeout: bool = False, on_update: UpdateCallback | None = None
    ) -> Result:
        """Follow the job until it finishes; raises its native error if it failed, JobTimeoutError if time ran out."""
        try:
            status = run_sync(self._wait_op(timeout, on_update), self._client.http)
        except JobTimeoutError:
            if cancel_on_timeout:
                self.cancel()
            raise
        return self._result(self._finished(status))

    def result(self) -> Result:
        """The result of a finished job (raises its native error if it failed)."""
        return self._result(None)

    def _result(self, video: VideoResult | None) -> Result:
        if video is None:
            video = run_sync(self._result_op(), self._client.http)
        return Result(self, self._succeeded(video))

    def cancel(self) -> bool:
        """Ask the provider to cancel; False when the job was past cancelling."""
        return self._cancelled(run_sync(self._cancel_op(), self._client.http))


class Result(ResultBase):
    """A finished job's video."""

    def __init__(self, job: Job, video: VideoResult) -> None:
        super().__init__(job, video)
        self.job: Job = job

    def download(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> DownloadedFile:
        """Stream the video to ``path`` (atomically: never a partial file under that name)."""
        http = self.job._client.http
        file = download(self.video.url, path, client=http, expected_size=self.video.file_size, overwrite=overwrite)
        return self.job._downloaded(file)


# --- async -----------------------------------------------------------------------------------------
class AsyncClient(ClientBase[httpx.AsyncClient]):
    """The same as :class:`Client`, with ``await``; many jobs can wait concurrently."""

    def _new_http(self, timeout: float | httpx.Timeout) -> httpx.AsyncClient:
        # no cap on connections: each fal job holds one for its status stream, and with httpx's default of 100
        # a thousand concurrent jobs queue their polls behind the streams (bench/client_concurrency.py: 96 s -> 21 s)
        return httpx.AsyncClient(timeout=timeout, follow_redirects=True, limits=_LIMITS)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()
        self.close_own_journal()

    async def submit(
        self, request: RequestLike, provider: str | None = None, *, webhook_url: str | None = None,
        label: str | None = None, output: str | os.PathLike[str] | None = None, overwrite: bool = False,
        idempotency_key: str | bool | None = None, idempotency_window: float | None = None,
    ) -> AsyncJob:  # fmt: skip
        """See :meth:`Client.submit`."""
        submission = self._submission(
            request, provider, webhook_url=webhook_url, label=label, output=output, overwrite=overwrite,
            idempotency_key=idempotency_key, idempotency_window=idempotency_window,
        )  # fmt: skip
        return AsyncJob(self, *await run_async(submission, self.http))

    def job(self, ident: str) -> AsyncJob:
        return AsyncJob(self, *self._located(ident))

    async def generate(
        self, request: RequestLike, provider: str | None = None, *, output: str | os.PathLike[str] | None = None,
        timeout: float | None = None, cancel_on_timeout: bool = False, on_update: UpdateCallback | None = None,
        overwrite: bool = False, label: str | None = None,
    ) -> AsyncResult:  # fmt: skip
        job = await self.submit(request, provider, label=label, output=output, overwrite=overwrite)
        result = await job.wait(timeout=timeout, cancel_on_timeout=cancel_on_timeout, on_update=on_update)
        if output is not None:
            await result.download(output, overwrite=overwrite)
        return result


class AsyncJob(JobBase):
    """:class:`Job` with ``await``."""

    def __init__(self, client: AsyncClient, endpoint: Endpoint, ref: JobRef, local_id: str | None, reused: bool = False) -> None:
        super().__init__(endpoint, ref, local_id, reused)
        self._client: AsyncClient = client

    async def status(self) -> JobStatus:
        return self._seen(await run_async(self._status_op(), self._client.http))

    async def wait(
        self, *, timeout: float | None = None, cancel_on_timeout: bool = False, on_update: UpdateCallback | None = None
    ) -> AsyncResult:
        try:
            status = await run_async(self._wait_op(timeout, on_update), self._client.http)
        except JobTimeoutError:
            if cancel_on_timeout:
                await self.cancel()
            raise
        return await self._result(self._finished(status))

    async def result(self) -> AsyncResult:
        return await self._result(None)

    async def _result(self, video: VideoResult | None) -> AsyncResult:
        if video is None:
            video = await run_async(self._result_op(), self._client.http)
        return AsyncResult(self, self._succeeded(video))

    async def cancel(self) -> bool:
        return self._cancelled(await run_async(self._cancel_op(), self._client.http))


class AsyncResult(ResultBase):
    """:class:`Result` with an async ``download``."""

    def __init__(self, job: AsyncJob, video: VideoResult) -> None:
        super().__init__(job, video)
        self.job: AsyncJob = job

    async def download(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> DownloadedFile:
        http = self.job._client.http
        file = await adownload(self.video.url, path, client=http, expected_size=self.video.file_size, overwrite=overwrite)
        return self.job._downloaded(file)
