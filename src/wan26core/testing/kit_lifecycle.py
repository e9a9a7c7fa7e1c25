"""The conformance kit's lifecycle checks: wan26's own client against the mock serving the plugin's dialect.

Everything runs in process (``httpx.ASGITransport`` over ``wan26_mock.create_app``): no socket, no thread,
a fresh mock per check that serves only the plugin under test. The client side is the plugin's protocol,
the server side its dialect, and both are held to the contract: a job succeeds and downloads a real MP4,
fails with each catalogued failure code, is refused with a catalogued validation code, and so on.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from wan26core._client import AsyncClient
from wan26core._contract import Contract
from wan26core._drivers import run_async
from wan26core._errors import (
    AuthenticationError,
    ContentPolicyError,
    GenerationFailedError,
    JobCancelledError,
    MissingExtraError,
    UnsupportedOptionError,
    ValidationError,
    Violation,
)
from wan26core._journal import Journal
from wan26core._plugins import Registry
from wan26core._rules.references import set_path
from wan26core._rules.render import WireRequest
from wan26core._rules.request import GenerationRequest
from wan26core._rules.wire import check_wire
from wan26core._runtime import RetryPolicy, submit_op
from wan26core.testing.kit_checks import ConformanceError
from wan26core.testing.kit_strategies import minimal_request

__all__ = [
    "FAILURE_KINDS",
    "LifecycleSettings",
    "check_cancel",
    "check_failure",
    "check_refusal",
    "check_success",
    "check_unauthorized",
    "failure_codes",
    "refused_body",
]

T = TypeVar("T")
KEY = "conformance-kit-key"
BASE_URL = "http://mock.test"
FAILURE_KINDS = ("generation_failed", "content_policy")


class LifecycleSettings:
    """How fast the mock's virtual clock runs and how eagerly the client polls (real jobs take minutes)."""

    mock_time_scale: float = 20.0  # a "fast" mock job (about a second) takes 50 ms
    client_time_scale: float = 500.0  # the contract's timing profile, compressed for the poll schedule
    timeout_s: float = 20.0
    retry = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05)


def _run(
    registry: Registry, provider_id: str, tmp_path: Path, body: Callable[[AsyncClient, Any], Awaitable[T]], seed: int = 7
) -> T:
    """Run ``body(client, engine)`` against a fresh in-process mock of ``registry``."""
    try:
        from wan26_mock import create_app
    except ImportError as exc:
        raise MissingExtraError(f"the lifecycle checks run the mock: pip install 'wan26[test]' ({exc})") from exc

    async def main() -> T:
        app = create_app(registry, seed=seed, time_scale=LifecycleSettings.mock_time_scale)
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)
        try:
            async with AsyncClient(
                provider_id,
                api_key=KEY,
                base_url=BASE_URL,
                http=http,
                registry=registry,
                journal=Journal(tmp_path / "conformance-journal.sqlite3"),
                time_scale=LifecycleSettings.client_time_scale,
                retry=LifecycleSettings.retry,
            ) as client:
                return await body(client, app.state.engine)
        finally:
            await http.aclose()

    return asyncio.run(main())


def _fault(engine: Any, provider_id: str, scenario: str, action: str = "submit") -> None:
    from wan26_mock.faults import parse_scenario

    fault = parse_scenario(scenario)
    assert fault is not None, scenario
    engine.faults.add(fault, 1, provider_id, action)


def _request(contract: Contract) -> GenerationRequest:
    return minimal_request(contract)


def check_success(registry: Registry, provider_id: str, tmp_path: Path) -> None:
    """submit -> wait -> result -> download: a real MP4, journaled from intent to download."""
    contract = registry.get(provider_id).contract
    output = tmp_path / "conformance.mp4"

    async def body(client: AsyncClient, engine: Any) -> None:
        states: list[str] = []
        job = await client.submit(_request(contract))
        result = await job.wait(timeout=LifecycleSettings.timeout_s, on_update=lambda s: states.append(s.state))
        await result.download(output)
        journal = client.journal
        assert journal is not None
        record = journal.get(job.id)
        if record.phase != "succeeded" or record.remote_id != job.remote_id:
            raise ConformanceError(f"{provider_id}: the journal says phase {record.phase!r} for a job that succeeded")
        if not states or states[-1] != "succeeded":
            raise ConformanceError(f"{provider_id}: wait() reported states {states}, the last must be 'succeeded'")
        data = output.read_bytes()
        if data[4:8] != b"ftyp":
            raise ConformanceError(f"{provider_id}: the downloaded result {result.video.url} is not an MP4")
        if result.video.file_size is not None and result.video.file_size != len(data):
            raise ConformanceError(f"{provider_id}: the result says {result.video.file_size} bytes, the download has {len(data)}")
        if len(engine.jobs.jobs) != 1:
            raise ConformanceError(f"{provider_id}: the mock holds {len(engine.jobs.jobs)} jobs after one submit")

    _run(registry, provider_id, tmp_path, body)


def failure_codes(contract: Contract) -> list[str | None]:
    """The catalogued codes a job can fail with (None: the contract catalogues none, the mock picks its own)."""
    codes = list(dict.fromkeys(e["code"] for e in contract.data["errors"] if e["kind"] in FAILURE_KINDS))
    return [*codes] or [None]


def check_failure(registry: Registry, provider_id: str, code: str | None, tmp_path: Path) -> None:
    """A job the mock fails with ``code`` raises GenerationFailedError (ContentPolicyError) keeping the code."""
    contract = registry.get(provider_id).contract
    entry = contract.error(code) if code is not None else None

    async def body(client: AsyncClient, engine: Any) -> None:
        _fault(engine, provider_id, f"generation_failed:{code}" if code else "generation_failed")
        job = await client.submit(_request(contract))
        try:
            await job.wait(timeout=LifecycleSettings.timeout_s)
        except GenerationFailedError as exc:
            if code is not None and exc.native_code != code:
                raise ConformanceError(
                    f"{provider_id}: a job failed with catalogued code {code!r} (errors, kind {entry and entry['kind']!r}) "
                    f"but the client reports code {exc.native_code!r}; the dialect's status answer and the protocol's "
                    "failure_of must carry the code through"
                ) from exc
            want_policy = entry is not None and entry["kind"] == "content_policy"
            if isinstance(exc, ContentPolicyError) != want_policy:
                raise ConformanceError(
                    f"{provider_id}: code {code!r} gave {type(exc).__name__}; content_policy entries give ContentPolicyError, "
                    "others GenerationFailedError"
                ) from exc
            if exc.job_id != job.id:
                raise ConformanceError(f"{provider_id}: the error names job {exc.job_id!r}, not {job.id!r}") from exc
        else:
            raise ConformanceError(f"{provider_id}: a job the mock failed with {code!r} was reported as succeeded")
        journal = client.journal
        assert journal is not None
        if journal.get(job.id).phase != "failed":
            raise ConformanceError(f"{provider_id}: the journal does not record the failed job as failed")

    _run(registry, provider_id, tmp_path, body)


def refused_body(contract: Contract, good: dict[str, Any]) -> tuple[dict[str, Any], list[Violation]] | None:
    """A copy of ``good`` the provider itself refuses, by the contract (too many references, too long a prompt,
    an undocumented option value), with the violations the provider answers; None when the catalogue has none."""
    candidates: list[dict[str, Any]] = []
    refs = contract.references
    if refs is not None:
        counts = contract.limits["references"]
        many = counts["total"]["max"] + 2
        for kind, path in refs["wire"].items():
            body = copy.deepcopy(good)
            ext = "png" if kind == "image" else "mp4"
            set_path(body, path, [f"https://media.example/extra{n}.{ext}" for n in range(many)])
            candidates.append(body)
    body = copy.deepcopy(good)
    set_path(body, contract.wire_fields["prompt"], "x" * (contract.limits["prompt"]["max_length"] + 1))
    candidates.append(body)
    duration = contract.option("duration")
    if duration.get("wire"):
        body = copy.deepcopy(good)
        set_path(body, duration["wire"], 7919)
        candidates.append(body)
    for candidate in candidates:
        _, refused = check_wire(candidate, contract)
        if refused:
            return candidate, refused
    return None


def check_refusal(registry: Registry, provider_id: str, tmp_path: Path) -> None:
    """A body the contract says the provider refuses is refused by the mock, read as a ValidationError keeping
    one of the codes the violations carry, and journaled as rejected (never paid, never retried)."""
    provider = registry.get(provider_id)
    contract = provider.contract
    request = _request(contract)
    good = provider.render(request)
    found = refused_body(contract, good.body)
    if found is None:
        validation = [e["code"] for e in contract.data["errors"] if e["kind"] == "validation"]
        if validation:
            raise ConformanceError(
                f"{provider_id}: the catalogue has validation codes {validation} but none answers too many references, "
                "too long a prompt or an undocumented duration: give those errors `rules` (references.total.max, "
                "prompt.max_length, option.values) or a '*' fallback"
            )
        return
    body, refused = found
    codes = {v.native.code for v in refused if v.native is not None}
    broken = WireRequest(good.provider, good.method, good.url, good.headers, body)

    async def run(client: AsyncClient, engine: Any) -> None:
        endpoint = client.endpoint(provider_id)
        journal = client.journal
        assert journal is not None
        try:
            await run_async(
                submit_op(endpoint, broken, request.to_dict(), journal=journal, policy=LifecycleSettings.retry), client.http
            )
        except ValidationError as exc:
            if exc.native_code not in codes:
                raise ConformanceError(
                    f"{provider_id}: the provider refuses this body with one of {sorted(codes)} (errors[].rules), the "
                    f"client read code {exc.native_code!r}; the dialect's invalid() and the protocol's native_error_of "
                    "must agree with the catalogue"
                ) from exc
        else:
            raise ConformanceError(f"{provider_id}: the mock accepted a body the contract says is refused ({sorted(codes)})")
        if journal.list()[0].phase != "rejected":
            raise ConformanceError(f"{provider_id}: a refused submit must be journaled as rejected")
        if engine.jobs.jobs:
            raise ConformanceError(f"{provider_id}: the mock created a job for a refused body")

    _run(registry, provider_id, tmp_path, run)


def check_unauthorized(registry: Registry, provider_id: str, tmp_path: Path) -> None:
    """The provider's 401 (the catalogue's authentication entry) raises AuthenticationError keeping its code."""
    contract = registry.get(provider_id).contract
    # the codes a 401 body carries (a body without a code, like fal's {"detail": …}, is read as its HTTP status)
    codes = {
        e["code"]
        for e in contract.data["errors"]
        if e["kind"] == "authentication" and json.dumps(e["code"]) in json.dumps(e.get("body"))
    }

    async def body(client: AsyncClient, engine: Any) -> None:
        _fault(engine, provider_id, "unauthorized")
        try:
            await client.submit(_request(contract))
        except AuthenticationError as exc:
            if codes and exc.native_code not in codes:
                raise ConformanceError(
                    f"{provider_id}: a 401 gave code {exc.native_code!r}; the catalogue's authentication codes are "
                    f"{sorted(codes)}"
                ) from exc
        else:
            raise ConformanceError(f"{provider_id}: the provider's 401 did not raise AuthenticationError")

    _run(registry, provider_id, tmp_path, body)


def check_cancel(registry: Registry, provider_id: str, tmp_path: Path) -> None:
    """With a cancel route, a queued job is cancelled and wait() raises JobCancelledError; without one, cancel()
    says the provider cannot."""
    contract = registry.get(provider_id).contract
    has_cancel = "cancel" in contract.transport["routes"]

    async def body(client: AsyncClient, engine: Any) -> None:
        _fault(engine, provider_id, "stuck")
        job = await client.submit(_request(contract))
        if not has_cancel:
            try:
                await job.cancel()
            except UnsupportedOptionError:
                return
            raise ConformanceError(f"{provider_id}: cancel() succeeded, but the contract has no transport.routes.cancel")
        if await job.cancel() is not True:
            raise ConformanceError(f"{provider_id}: the mock refused to cancel a queued job (transport.routes.cancel.states)")
        try:
            await job.wait(timeout=LifecycleSettings.timeout_s)
        except JobCancelledError:
            return
        raise ConformanceError(f"{provider_id}: a cancelled job did not end as cancelled (statuses.map)")

    _run(registry, provider_id, tmp_path, body)
