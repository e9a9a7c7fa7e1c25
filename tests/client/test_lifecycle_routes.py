"""The scenarios of ``test_lifecycle.py`` for every provider, in process through ``wan26_routes``: no sockets.

The clients are configured by the environment the fixture sets (dummy keys, the providers' real hosts), as a
user's code would be; faults are queued through the handle and checked in its journal.
"""

from __future__ import annotations

import asyncio
import copy
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_lifecycle import FAST_RETRY, PROVIDERS, REQUEST, failure_cases

from mockkit import CANARY
from support import builtin_registry
from wan26core import (
    AsyncClient,
    Client,
    ContentPolicyError,
    GenerationFailedError,
    JobCancelledError,
    JobTimeoutError,
    ValidationError,
)
from wan26core._drivers import run_sync
from wan26core._errors import SubmitUncertainError, UnsupportedOptionError
from wan26core._journal import Journal
from wan26core._rules.references import set_path
from wan26core._rules.render import WireRequest
from wan26core._runtime import submit_op
from wan26core.testing.config import MockConfig
from wan26core.testing.routes import MockRoutes


@pytest.fixture(scope="session")
def wan26_mock_config() -> MockConfig:
    """The built-in providers, a job in about 20 ms."""
    return MockConfig(registry=builtin_registry(), seed=11, time_scale=50)


def client(provider: str, tmp_path: Path, **options: Any) -> Client:
    return Client(
        provider,
        registry=builtin_registry(),
        journal=Journal(tmp_path / "journal.sqlite3"),
        time_scale=1000,
        retry=FAST_RETRY,
        **options,
    )


@pytest.mark.parametrize("provider", PROVIDERS)
def test_success_downloads_a_real_mp4_and_journals_every_step(wan26_routes: MockRoutes, provider: str, tmp_path: Path) -> None:
    seen: list[str] = []
    with client(provider, tmp_path) as c:
        result = c.generate(REQUEST, output=tmp_path / "out.mp4", on_update=lambda s: seen.append(s.state))
        record = c.journal.get(result.job.id)  # type: ignore[union-attr]
    data = (tmp_path / "out.mp4").read_bytes()
    assert data[4:8] == b"ftyp"
    if result.video.file_size is not None:
        assert len(data) == result.video.file_size
    assert seen[-1] == "succeeded"
    assert record.phase == "succeeded" and record.remote_id == result.job.remote_id
    assert record.output_path == str((tmp_path / "out.mp4").resolve())
    wan26_routes.assert_submitted(provider)
    assert wan26_routes.routes(provider.split("/")[0])[0].called  # answered by the route of the provider's real host


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_body_the_provider_refuses_raises_its_native_validation_code(
    wan26_routes: MockRoutes, provider: str, tmp_path: Path
) -> None:
    with client(provider, tmp_path) as c:
        endpoint = c.endpoint()
        good = endpoint.provider.render(c.prepare(REQUEST, None)[1])
        body = copy.deepcopy(good.body)
        wire_path = next(iter(endpoint.provider.contract.references["wire"].values()))
        set_path(body, wire_path, [f"https://example.com/v{n}.mp4" for n in range(7)])  # over every reference limit
        broken = WireRequest(good.provider, good.method, good.url, good.headers, body)
        assert c.journal is not None
        with pytest.raises(ValidationError) as caught:
            run_sync(submit_op(endpoint, broken, REQUEST, journal=c.journal, policy=FAST_RETRY), c.http)
        codes = {e["code"] for e in endpoint.provider.contract.data["errors"] if e["kind"] == "validation"}
        assert caught.value.native_code in codes
        assert c.journal.list()[0].phase == "rejected"
    assert wan26_routes.submits(provider) == [] and len(wan26_routes.submits(provider, include_refused=True)) == 1


@pytest.mark.parametrize(("provider", "code", "kind"), failure_cases())
def test_a_failed_generation_raises_with_its_native_code(
    wan26_routes: MockRoutes, provider: str, code: str, kind: str, tmp_path: Path
) -> None:
    wan26_routes.scenario(f"generation_failed:{code}", provider=provider, action="submit")
    with client(provider, tmp_path) as c:
        job = c.submit(REQUEST)
        with pytest.raises(GenerationFailedError) as caught:
            job.wait(timeout=10)
        assert c.journal is not None and c.journal.get(job.id).phase == "failed"
    assert caught.value.native_code == code
    assert isinstance(caught.value, ContentPolicyError) == (kind == "content_policy")
    assert caught.value.job_id == job.id


@pytest.mark.parametrize("provider", PROVIDERS)
def test_cancel_where_the_provider_can(wan26_routes: MockRoutes, provider: str, tmp_path: Path) -> None:
    wan26_routes.scenario("stuck", provider=provider, action="submit")
    with client(provider, tmp_path) as c:
        job = c.submit(REQUEST)
        if not c.endpoint().provider.contract.transport["routes"].get("cancel"):
            with pytest.raises(UnsupportedOptionError, match="documents no way to cancel"):
                job.cancel()
            return
        assert job.cancel() is True
        with pytest.raises(JobCancelledError):
            job.wait(timeout=10)
        assert c.journal is not None and c.journal.get(job.id).phase == "cancelled"
    assert wan26_routes.job(job.remote_id)["state"] == "cancelled"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_timeout_keeps_the_job_findable(wan26_routes: MockRoutes, provider: str, tmp_path: Path) -> None:
    wan26_routes.scenario("stuck", provider=provider, action="submit")
    with client(provider, tmp_path) as c:
        job = c.submit(REQUEST)
        with pytest.raises(JobTimeoutError) as caught:
            job.wait(timeout=0.15)
        assert caught.value.job_id == job.id
        assert c.journal is not None
        record = c.journal.get(job.id)
        assert not record.finished and record.remote_id == job.remote_id
        assert c.job(job.id[:8]).remote_id == job.remote_id  # resumable by a short prefix


@pytest.mark.parametrize("scenario", ["rate_limited:0.05", "server_error", "connection_reset", "malformed"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_faults_while_polling_are_waited_through(wan26_routes: MockRoutes, provider: str, scenario: str, tmp_path: Path) -> None:
    wan26_routes.scenario(scenario, count=2, provider=provider, action="status")
    wan26_routes.scenario(scenario, count=1, provider=provider, action="stream")  # fal: the stream fails, then polls fail
    with client(provider, tmp_path) as c:
        result = c.generate(REQUEST, timeout=20)
    assert result.url
    faulted = [e for e in wan26_routes.journal() if e.scenario and e.action in ("status", "stream")]
    assert len(faulted) >= 1  # the fault really happened and was survived
    wan26_routes.assert_submitted(provider)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_read_timeout_after_an_accepted_submit_never_submits_twice(
    wan26_routes: MockRoutes, provider: str, tmp_path: Path
) -> None:
    wan26_routes.scenario("timeout_after_accept:0.2", provider=provider, action="submit")
    with client(provider, tmp_path, timeout=httpx.Timeout(5, read=0.05)) as c:
        with pytest.raises(SubmitUncertainError) as caught:
            c.submit(REQUEST)
        assert c.journal is not None
        record = c.journal.get(caught.value.local_id or "")
    assert record.phase == "unknown"
    deadline = time.monotonic() + 5
    while not wan26_routes.journal(action="submit") and time.monotonic() < deadline:  # the engine answers after 0.2 s
        time.sleep(0.02)
    assert len(wan26_routes.jobs()) == 1  # the provider accepted exactly one job
    wan26_routes.assert_submitted(provider)  # and was sent exactly one submit


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_rate_limited_submit_is_sent_again_and_accepted_once(wan26_routes: MockRoutes, provider: str, tmp_path: Path) -> None:
    wan26_routes.scenario("rate_limited:0.05", provider=provider, action="submit")
    with client(provider, tmp_path) as c:
        c.submit(REQUEST)
    statuses = [e.status for e in wan26_routes.submits(provider, include_refused=True)]
    assert statuses == [429, 200]
    assert len(wan26_routes.jobs()) == 1


def test_the_key_never_reaches_the_journals_or_errors(wan26_routes: MockRoutes, tmp_path: Path) -> None:
    wan26_routes.scenario("generation_failed", provider="fal/r2v-flash", action="submit")
    with client("fal/r2v-flash", tmp_path, api_key=CANARY) as c:
        job = c.submit(REQUEST)
        with pytest.raises(GenerationFailedError) as caught:
            job.wait(timeout=10)
        texts = [str(caught.value), repr(caught.value), repr(c), repr(job), repr(c.endpoint())]
    texts.append(repr(wan26_routes.journal()))
    assert all(CANARY not in text for text in texts)
    assert wan26_routes.journal(action="submit")[0].headers["authorization"] == "Key REDACTED"
    assert CANARY.encode() not in b"".join(p.read_bytes() for p in tmp_path.glob("journal.sqlite3*"))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_async_client_runs_in_process_with_faults(wan26_routes: MockRoutes, provider: str, tmp_path: Path) -> None:
    wan26_routes.scenario("server_error", count=2, provider=provider, action="status")

    async def run() -> list[Any]:
        async with AsyncClient(
            provider, journal=tmp_path / "j.sqlite3", time_scale=1000, retry=FAST_RETRY, registry=builtin_registry()
        ) as c:
            results = await asyncio.gather(*(c.generate(REQUEST, timeout=20) for _ in range(3)))
            await results[0].download(tmp_path / "a.mp4")
        return results

    results = asyncio.run(run())
    assert len({r.job.remote_id for r in results}) == 3
    assert (tmp_path / "a.mp4").read_bytes()[4:8] == b"ftyp"
    assert len(wan26_routes.jobs()) == 3
    wan26_routes.assert_submitted(provider, count=3)
