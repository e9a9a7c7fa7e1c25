"""The mock engine: routing, credentials, validation, jobs, faults, outputs, journal and the admin API.

Everything provider-specific comes from the plugins' dialects and contracts; this module owns only
what all providers share. ``Engine.handle`` is transport-free, so the same engine serves a socket
(through the Starlette app) and in-process httpx routes. It also owns what needs waiting: status
streams (a :class:`~wan26_mock.streams.MockStream` paced by the virtual clock), webhook delivery
(a background task started lazily in the running loop) and uploaded files.

Status polls are the hot path. A dialect that declares ``cacheable = True`` promises that its status and
result answers depend only on the request's method, path, query and base URL, on its fresh ``request_id`` (only
ever written as it is) and on the job snapshot; the engine then keeps the last answer rendered for each job,
encoded, and reuses it while the request and the job's phase (:meth:`~wan26_mock.jobs.Job.phase`: state, queue
position, progress, cancellation, outcome, video) are unchanged, so a cancel or a clock jump ends the reuse by
itself. A reused answer that carried its request's id gets the new request's id instead (DashScope's
``request_id``: a fresh UUID per request).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from wan26core import Contract, NativeError, Registry, default_registry
from wan26core._dialect import (
    Dialect,
    JobSnapshot,
    MockRequest,
    MockResponse,
    StorageDialect,
    StreamEvent,
    StreamingDialect,
    UploadStorage,
    Video,
    WebhookDialect,
    WebhookSigner,
    is_json,
    json_body,
)
from wan26core._rules.wire import check_wire

from .admin import ADMIN_PREFIX, AdminApi
from .catalogue import body_refusal, catalogue_error, fault_failure
from .encoding import EncodedResponse, encoded, id_spots, reissued
from .faults import SCENARIO_HEADER, Fault, FaultQueue, ScenarioError, read_scenario
from .ids import RequestIds
from .jobs import Job, JobStore, Profile, known_fields
from .journal import RequestJournal, journaled_answer, keeps_body_of
from .limits import DEFAULT_MAX_JOBS
from .output_shapes import default_output_dir, output_shape
from .outputs import OutputsClosed, OutputStore
from .router import DialectRoute, Router, draws_request_ids
from .streams import MockStream, aborted, status_events
from .wakeups import Notifier, WatchedClock
from .webhooks import USER_AGENT, WebhookDispatcher, host_port, refusal, retry_delays, webhook_url_of

_log = logging.getLogger("wan26_mock")

__all__ = ["ADMIN_PREFIX", "Engine"]

MAX_BODY_BYTES = 64 * 1024 * 1024
DEFAULT_CAP = 2 * 1024**3  # what the storage routes keep, in all
MAX_UPLOAD_BYTES = 128 * 1024 * 1024  # one storage request (fal-client sends up to 100 MB in one POST)
KEEPALIVE_S = 15.0  # when a contract's stream route does not say
FAST_WEBHOOK_WINDOW = 1 / 1000  # the fast profile compresses a provider's webhook retry window a thousandfold


class Engine:
    """One mock process serving every registered provider that has a dialect."""

    def __init__(
        self,
        registry: Registry | None = None,
        *,
        seed: int | None = None,
        profile: Profile = "fast",
        time_scale: float = 1.0,
        frozen_clock: bool = False,
        output_dir: str | Path | None = None,
        stream_keepalive: float | None = None,
        webhook_user_id: str = "wan26-mock-user",
        upload_cap_bytes: int = DEFAULT_CAP,
        max_jobs: int = DEFAULT_MAX_JOBS,
    ) -> None:
        """``stream_keepalive``: real seconds between keep-alive lines of a quiet status stream (default: the
        contract's, else 15); ``webhook_user_id``: the user id webhooks are signed for; ``upload_cap_bytes``:
        how much uploaded data the storage routes keep; ``max_jobs``: how many jobs are kept (the oldest finished
        ones are evicted first, see :mod:`wan26_mock.jobs`)."""
        providers = (registry or default_registry()).providers()
        self.dialects: dict[str, Dialect] = {}
        self.contracts: dict[str, dict[str, Contract]] = {}
        for provider_id, provider in providers.items():
            dialect = provider.dialect
            if dialect is None:
                continue
            self.dialects.setdefault(dialect.provider, dialect)
            self.contracts.setdefault(dialect.provider, {})[provider_id] = provider.contract
        self.router = Router(self.dialects.values())
        self.routes = self.router.routes
        self.notifier = Notifier()
        self.clock = WatchedClock(self.notifier, scale=time_scale, frozen=frozen_clock)
        self.jobs = JobStore(seed=seed, profile=profile, max_jobs=max_jobs)
        self.request_ids = RequestIds(seed)  # a fresh id per provider request, for the dialects (DashScope's request_id)
        self.journal = RequestJournal()
        self.faults = FaultQueue()
        self.outputs = OutputStore(Path(output_dir) if output_dir is not None else default_output_dir())
        self.stream_keepalive = stream_keepalive
        #: each webhook dialect's signer, by the provider part of the ids (its keys made here, one set per engine)
        self.signers: dict[str, WebhookSigner] = {
            name: dialect.webhook_signer() for name, dialect in self.dialects.items() if isinstance(dialect, WebhookDialect)
        }
        self._family = {provider_id: name for name, served in self.contracts.items() for provider_id in served}
        self.webhooks = WebhookDispatcher(
            clock=self.clock,
            notifier=self.notifier,
            signer_for=lambda provider_id: self.signers[self._family[provider_id]],
            user_id=webhook_user_id,
            ends_at=self._job_ends_at,
            build=self._webhook_body,
        )
        #: the path of each signing provider's published JWKS (its contracts' ``transport.webhook.jwks_url``)
        self._jwks_paths = {
            urlsplit(str(hook["jwks_url"])).path: signer
            for name, signer in self.signers.items()
            for contract in self.contracts[name].values()
            if (hook := contract.transport.get("webhook")) and hook.get("jwks_url")
        }
        # the file uploads of the (first) dialect that takes them
        storing = [d for d in self.dialects.values() if isinstance(d, StorageDialect)]
        self._storage_dialect: Dialect | None = storing[0] if storing else None
        self.storage: UploadStorage | None = storing[0].upload_storage(cap_bytes=upload_cap_bytes) if storing else None
        self.admin = AdminApi(self)
        #: (host, port) pairs the mock listens on (the server adds them): webhooks are never sent there
        self.own_addresses: set[tuple[str, int]] = set()
        self.jobs.on_evict = self.webhooks.forget

    def shutdown(self) -> None:
        """Stop the work in progress (output encodes) for a server that is exiting; the engine makes no more videos."""
        self.outputs.close()

    # --- entry point ------------------------------------------------------------------------------
    async def handle(self, request: MockRequest) -> MockResponse:
        """Answer one request; a :class:`MockStream` when the answer is sent in pieces (status streams,
        downloads, dropped connections). ``request.params`` and ``request.now`` are the engine's to set."""
        return await self.handle_parts(
            request.method, request.path, request.query, request.headers, request.body, request.base_url
        )

    async def handle_parts(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
        base_url: str,
        body_size: int | None = None,
    ) -> MockResponse:
        """:meth:`handle` for a request given by its parts, as the ASGI app has them: the :class:`MockRequest`
        the dialect sees is built once, after routing, with the path parameters and the virtual time.

        ``body_size``: how many bytes the client sent, when the caller kept fewer (``body`` empty: the app keeps
        nothing past its read limit, see :mod:`wan26_mock.app`); such a request is refused by its size."""
        now = self.clock.now()  # once: the instant the request arrived, for routing, the job and the journal
        if headers.get("user-agent") == USER_AGENT:  # one of this mock's webhooks, come back by a way no check saw
            return MockResponse(403, {"detail": "the wan26 mock does not take its own webhooks"})
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            return await self.admin.handle(MockRequest(method, path, query, headers, body, base_url, now=now))
        provider: str | None = None
        action: str | None = None
        job_id: str | None = None
        fault: Fault | None = None
        match = self._match(method.upper(), path)
        params, request_id = (match[1], self.request_ids.next() if match[0].request_ids else "") if match else ({}, "")
        request = MockRequest(method, path, query, headers, body, base_url, params, now=now, request_id=request_id)
        size = max(len(body), body_size or 0)
        try:
            if size > MAX_BODY_BYTES and match is not None and match[0].action == "submit":
                action, response = "submit", self._too_large(match[0].dialect, request, size)  # refused unread
            elif size > MAX_UPLOAD_BYTES and self.storage is not None and self.storage.handles(path):
                action = "upload"
                response = MockResponse(413, {"detail": f"the body ({size} bytes) is over {MAX_UPLOAD_BYTES} bytes"})
            elif request.path in self._jwks_paths and request.method.upper() == "GET":
                jwks = self._jwks_paths[request.path].jwks()
                action, response = "jwks", MockResponse(200, jwks, {"cache-control": "max-age=3600"})
            elif match is None and self.storage is not None and self.storage.handles(request.path):
                action = "upload"
                response, fault = await self._storage(request)
            elif match is None:
                response = MockResponse(404, {"detail": f"no mock route for {request.method} {request.path}"})
            else:
                route = match[0]
                action = route.action
                response, provider, job_id, fault = await self._dispatch(route, request)
        except OutputsClosed:
            response = MockResponse(503, {"detail": "the wan26 mock is shutting down"})
        except ScenarioError as exc:  # a bad X-Wan26-Mock-Scenario: refused in the admin API's shape, never ignored
            response = MockResponse(400, {"detail": str(exc)})
        except Exception as exc:  # the mock never answers 500 unless asked to: report a bug plainly, and log it
            _log.exception("wan26 mock internal error on %s %s", method, path)
            response = MockResponse(500, {"detail": f"wan26 mock internal error: {exc!r}"}, {"x-wan26-mock-bug": "1"})
        self.journal.record(
            time=now,
            method=request.method,
            path=request.path,
            query=request.query,
            headers=request.headers,
            body=request.body if action != "upload" or keeps_body_of(request) else b"",
            status=response.status,
            response=journaled_answer(response),
            provider=provider,
            action=action,
            job_id=job_id,
            scenario=fault.name if fault else None,
        )
        return response

    # --- provider routes --------------------------------------------------------------------------
    def _match(self, method: str, path: str) -> tuple[DialectRoute, dict[str, str]] | None:
        return self.router.match(method, path)

    async def _dispatch(
        self, route: DialectRoute, request: MockRequest
    ) -> tuple[MockResponse, str | None, str | None, Fault | None]:
        dialect = route.dialect
        contracts = self.contracts[dialect.provider]
        job: Job | None = None
        provider: str | None = None
        denied = dialect.authenticate(request)  # like the real APIs: the key first, then everything else
        if denied is not None:
            return denied, None, None, None
        if route.action == "submit":
            selected = dialect.select(request, contracts)
            if isinstance(selected, MockResponse):
                return selected, None, None, self._fault(request, None, route.action)
            provider = selected
        else:
            job_id = dialect.job_id(request)
            job = self.jobs.jobs.get(job_id or "")
            if job is None or job.provider not in contracts:
                return dialect.not_found(request, job_id or ""), None, job_id, None
            provider = job.provider
        fault = self._fault(request, provider, route.action)
        contract = contracts[provider]
        early = await self._early_fault(fault, dialect, request, contract) if fault is not None else None
        if early is not None:
            return early, provider, job.id if job else None, fault
        now = request.now if fault is None else self.clock.now()  # a fault may have slept meanwhile
        if route.action == "submit":
            response, job = self._submit(dialect, request, provider, contract, fault, now)
        elif route.action == "stream":
            assert job is not None
            response = self._stream(dialect, request, job, contract)
        else:
            assert job is not None
            answer = self._job_answer(route, request, job, contract, now)
            if answer is None:  # the job has just succeeded: its video first
                await self._make_video(job, contract, request.base_url)
                answer = self._job_answer(route, request, job, contract, now)
            assert answer is not None
            response = answer
        if fault is not None and fault.name == "timeout_after_accept":
            await asyncio.sleep(fault.number if fault.number is not None else 30.0)
        if fault is not None and fault.name == "malformed" and not isinstance(response, MockStream):
            text = json.dumps(response.body, allow_nan=False)
            response = MockResponse(200, text[: max(1, len(text) // 2)].encode(), {"content-type": "application/json"})
        if fault is not None and fault.name == "connection_reset":  # ":after": the request took effect
            response = MockStream(200, aborted())
        return response, provider, job.id if job else None, fault

    def _fault(self, request: MockRequest, provider: str | None, action: str) -> Fault | None:
        header = request.headers.get(SCENARIO_HEADER)
        if header:
            fault = read_scenario(header, "X-Wan26-Mock-Scenario")
            self._check_native_code(fault, provider)
            return fault
        return self.faults.take(provider, action) if self.faults else None

    def _check_native_code(self, fault: Fault, provider: str | None) -> None:
        """A fault naming a native code (``generation_failed:<code>``, ``server_error:<code>``) must name one of the
        provider's catalogued codes: a test that asked for a code should not pass with another."""
        if provider is None or fault.name not in ("generation_failed", "server_error") or not fault.argument:
            return
        if fault.number is not None:  # server_error:<status>
            return
        contract = next((c[provider] for c in self.contracts.values() if provider in c), None)
        if contract is not None and contract.error(fault.argument) is None:
            codes = sorted({str(e["code"]) for e in contract.data["errors"]})
            raise ScenarioError(
                f"X-Wan26-Mock-Scenario: {fault.argument!r} is no native code of {provider}; catalogued: {', '.join(codes)}"
            )

    async def _early_fault(
        self, fault: Fault | None, dialect: Dialect, request: MockRequest, contract: Contract
    ) -> MockResponse | None:
        if fault is None:
            return None
        if fault.name == "connection_reset" and fault.argument != "after":
            return MockStream(200, aborted())
        if fault.name == "latency":
            await asyncio.sleep((fault.number or 0) / 1000)
        elif fault.name == "rate_limited":
            native = catalogue_error(contract, "rate_limit") or NativeError(429, "rate_limited", "Too many requests")
            response = dialect.error(request, native)
            retry_after = fault.number if fault.number is not None else 1
            return MockResponse(response.status, response.body, {**response.headers, "retry-after": f"{retry_after:g}"})
        elif fault.name == "server_error":
            entry = contract.error(fault.argument) if fault.argument and fault.number is None else None
            if entry is not None:  # server_error:<native code>, e.g. fal's runner_disconnected
                return dialect.error(request, NativeError(entry["http_status"] or 500, entry["code"], entry["message"]))
            status = int(fault.number) if fault.number and 500 <= fault.number < 600 else 503
            native = (
                catalogue_error(contract, "provider", status, exact=True)
                or catalogue_error(contract, "timeout", status, exact=True)
                or catalogue_error(contract, "provider", status)
                or NativeError(status, "server_error", "Service unavailable")
            )
            return dialect.error(request, NativeError(status, native.code, native.message))
        elif fault.name == "unauthorized":
            native = catalogue_error(contract, "authentication") or NativeError(401, "unauthorized", "Unauthorized")
            return dialect.error(request, native)
        return None

    def _too_large(self, dialect: Dialect, request: MockRequest, size: int) -> MockResponse:
        """The provider's refusal of a submit body over :data:`MAX_BODY_BYTES`, without parsing it (its key first)."""
        denied = dialect.authenticate(request)
        if denied is not None:
            return denied
        contract = next(iter(self.contracts[dialect.provider].values()))
        too_big = body_refusal(contract, f"the body ({size} bytes) is over {MAX_BODY_BYTES} bytes")
        return dialect.invalid(request, contract, [too_big])

    def _submit(
        self, dialect: Dialect, request: MockRequest, provider: str, contract: Contract, fault: Fault | None, now: float
    ) -> tuple[MockResponse, Job | None]:
        body = json_body(request)
        if not is_json(body):
            return dialect.invalid(request, contract, [body_refusal(contract, "the body is not JSON", "request.json")]), None
        if not isinstance(body, dict):
            not_object = body_refusal(contract, "the body is not a JSON object", "request.body")
            return dialect.invalid(request, contract, [not_object]), None
        canonical, violations = check_wire(body, contract)
        if violations or canonical is None:
            return dialect.invalid(request, contract, violations), None
        job = self.jobs.create(provider, contract, canonical, known_fields(body, contract.request_schema), now)
        if fault is not None:
            if fault.name == "stuck":
                job.outcome = "stuck"
            elif fault.name in ("generation_failed", "content_policy"):
                job.outcome = "failed"
                job.error = fault_failure(contract, fault)
        job.meta["query"] = dict(request.query)
        job.meta["base_url"] = request.base_url
        job.webhook_url = webhook_url_of(request, contract)
        if job.webhook_url is not None and isinstance(dialect, WebhookDialect):
            refused = refusal(job.webhook_url, ADMIN_PREFIX, {*self.own_addresses, host_port(request.base_url)})
            self.webhooks.add(job.id, provider, job.webhook_url, self._retry_delays(contract), refused)
            if refused is None:
                self.webhooks.ensure_running()
        return dialect.submitted(request, self.jobs.snapshot(job, now, contract)), job

    def _job_answer(
        self, route: DialectRoute, request: MockRequest, job: Job, contract: Contract, now: float
    ) -> MockResponse | None:
        """The answer to a status, result or cancel request; None while a succeeded job has no video yet."""
        action, dialect = route.action, route.dialect
        if action == "cancel":
            state = job.state_at(now)
            accepted = state in ("queued", "running") and _cancellable(contract, state)
            if accepted:
                job.cancelled_at = now
                self.notifier.notify(job.id)
                self.webhooks.job_changed(job.id)
            return dialect.cancel(request, self.jobs.snapshot(job, now, contract), accepted)
        phase = job.phase(now)
        if phase[0] == "succeeded" and job.video is None:
            return None
        # A cacheable dialect's answer is a function of the request's method, path, query and base URL and of the
        # snapshot, which the phase determines: reuse the last one rendered (with its bytes) while both hold.
        key = (action, request.method, request.path, request.base_url, request.query)
        cacheable = route.cacheable and not request.body
        if cacheable and job.answer is not None and job.answer[0] == key and job.answer[1] == phase:
            cached: EncodedResponse = job.answer[2]
            return reissued(cached, job.answer[3], request.request_id)
        snapshot = self.jobs.snapshot_of(job, phase, contract)
        response = dialect.result(request, snapshot) if action == "result" else dialect.status(request, snapshot)
        if cacheable and type(response) is MockResponse:
            response = encoded(response)
            job.answer = (key, phase, response, id_spots(response, request.request_id))
        return response

    async def _make_video(self, job: Job, contract: Contract, base_url: str) -> None:
        shape = output_shape(job, contract)
        path = await asyncio.wrap_future(self.outputs.prepare(shape))  # in a worker thread, shared per shape
        job.video = Video(
            # the file is shared by every job of this shape; its URL is the job's own, as a provider's is
            url=f"{base_url}{ADMIN_PREFIX}/files/{job.id}/{path.name}",
            width=shape.width,
            height=shape.height,
            fps=float(shape.fps),
            duration=float(shape.duration),
            num_frames=shape.duration * shape.fps,
            file_size=path.stat().st_size,
            has_audio=shape.audio,
            file_name=path.name,
        )

    # --- status streams ---------------------------------------------------------------------------
    def _stream(self, dialect: Dialect, request: MockRequest, job: Job, contract: Contract) -> MockResponse:
        if not isinstance(dialect, StreamingDialect):
            return MockResponse(404, {"detail": f"{dialect.provider} serves no status stream"})
        opening = dialect.stream_open(request, self.jobs.snapshot(job, self.clock.now(), contract))
        route = contract.transport["routes"].get("stream", {})
        keepalive_s = self.stream_keepalive or float(route.get("keepalive_s", KEEPALIVE_S))
        chunks = status_events(
            render=self._stream_renderer(dialect, request, job, contract),
            next_change=job.next_change,
            clock=self.clock,
            notifier=self.notifier,
            topic=job.id,
            keepalive=dialect.stream_keepalive(request),
            keepalive_s=keepalive_s,
        )
        return MockStream(opening.status, chunks, opening.headers)

    def _stream_renderer(
        self, dialect: StreamingDialect, request: MockRequest, job: Job, contract: Contract
    ) -> Callable[[float], StreamEvent]:
        """The events of one stream; a dialect whose ``stream_event`` takes ``previous`` is given the snapshot of
        the last event it produced (fal: each event carries only the log lines that are new)."""
        if "previous" not in inspect.signature(dialect.stream_event).parameters:
            return lambda now: dialect.stream_event(request, self.jobs.snapshot(job, now, contract))
        sent: list[JobSnapshot] = []

        def render(now: float) -> StreamEvent:
            snapshot = self.jobs.snapshot(job, now, contract)
            event = dialect.stream_event(request, snapshot, sent[-1] if sent else None)
            if event.data:
                sent[:] = [snapshot]
            return event

        return render

    # --- webhooks ---------------------------------------------------------------------------------
    def _retry_delays(self, contract: Contract) -> list[float]:
        hook = contract.transport.get("webhook", {})
        window = float(hook.get("retry_window_s", 7200))
        if self.jobs.profile == "fast":
            window *= FAST_WEBHOOK_WINDOW
        return retry_delays(int(hook.get("retries", 10)), window)

    def _job_ends_at(self, job_id: str) -> float | None:
        job = self.jobs.jobs.get(job_id)
        return job.ends_at() if job is not None else None

    async def _webhook_body(self, job_id: str) -> bytes:
        """The payload of a finished job's webhook: the dialect's result answer, wrapped by the dialect."""
        job = self.jobs.jobs[job_id]
        name = next(name for name, c in self.contracts.items() if job.provider in c)
        dialect, contract = self.dialects[name], self.contracts[name][job.provider]
        assert isinstance(dialect, WebhookDialect)
        now = self.clock.now()
        base_url = str(job.meta.get("base_url", ""))
        if job.state_at(now) == "succeeded" and job.video is None:
            await self._make_video(job, contract, base_url)
        snapshot = self.jobs.snapshot(job, now, contract)
        request_id = self.request_ids.next() if draws_request_ids(dialect) else ""
        request = MockRequest("GET", "", {}, {}, b"", base_url, {"request_id": job.id}, now=now, request_id=request_id)
        payload = dialect.webhook(request, snapshot, dialect.result(request, snapshot))
        return json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()

    # --- storage ----------------------------------------------------------------------------------
    async def _storage(self, request: MockRequest) -> tuple[MockResponse, Fault | None]:
        assert self.storage is not None and self._storage_dialect is not None
        dialect = self._storage_dialect
        fault = self._fault(request, None, "upload")
        contract = next(iter(self.contracts[dialect.provider].values()))
        early = await self._early_fault(fault, dialect, request, contract)
        if early is not None:
            return early, fault
        if fault is not None:  # it may have slept meanwhile
            request = replace(request, now=self.clock.now())
        return await self.storage.handle(request, dialect.authenticate), fault


def _cancellable(contract: Contract, state: str) -> bool:
    """DashScope cancels only pending tasks; others cancel queued or running ones (the contract says which)."""
    route = contract.transport["routes"].get("cancel")
    return route is not None and state in route.get("states", ["queued", "running"])
