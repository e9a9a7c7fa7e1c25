"""Every provider through the same scenarios, against the mock on a real socket (and in process)."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockkit import CANARY
from support import builtin_registry
from wan26_mock import create_app
from wan26_mock.serve import MockServer, running_server
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
from wan26core._runtime import RetryPolicy, submit_op

PROVIDERS = ["fal/r2v-flash", "aimlapi/r2v", "vtrix/r2v", "dashscope/r2v"]
REQUEST = {
    "prompt": "@cat waves at @dog",
    "references": [
        {"name": "cat", "source": "https://example.com/cat.mp4"},
        {"name": "dog", "source": "https://example.com/dog.mp4"},
    ],
    "duration": 5,
}
FAST_RETRY = RetryPolicy(attempts=4, backoff=0.02, max_backoff=0.1)


@pytest.fixture(scope="module")
def mock() -> Iterator[MockServer]:
    with running_server(builtin_registry(), seed=11, time_scale=5) as server:  # a job takes about 0.2 s
        yield server


@pytest.fixture
def admin(mock: MockServer) -> Iterator[Any]:
    with httpx.Client(base_url=mock.admin_url) as http:
        assert http.post("/reset", json={}).status_code == 200
        yield http


def client(mock: MockServer, provider: str, tmp_path: Path, **options: Any) -> Client:
    return Client(
        provider,
        api_key=CANARY,
        base_url=mock.base_url,
        registry=builtin_registry(),
        journal=Journal(tmp_path / "journal.sqlite3"),
        time_scale=250,
        retry=FAST_RETRY,
        **options,
    )


def fault(admin: httpx.Client, provider: str, scenario: str, action: str, count: int = 1) -> None:
    answer = admin.post("/scenarios", json={"scenario": scenario, "count": count, "provider": provider, "action": action})
    assert answer.status_code == 200, answer.text


def entries(admin: httpx.Client, **query: str) -> list[dict[str, Any]]:
    return list(admin.get("/journal", params=query).json()["entries"])


@pytest.mark.parametrize("provider", PROVIDERS)
def test_success_downloads_a_real_mp4_and_journals_every_step(
    mock: MockServer, admin: httpx.Client, provider: str, tmp_path: Path
) -> None:
    seen: list[str] = []
    with client(mock, provider, tmp_path) as c:
        result = c.generate(REQUEST, output=tmp_path / "out.mp4", on_update=lambda s: seen.append(s.state))
        record = c.journal.get(result.job.id)  # type: ignore[union-attr]
    data = (tmp_path / "out.mp4").read_bytes()
    assert data[4:8] == b"ftyp"
    if result.video.file_size is not None:
        assert len(data) == result.video.file_size
    assert seen[-1] == "succeeded"
    assert record.phase == "succeeded" and record.remote_id == result.job.remote_id
    assert record.output_path == str((tmp_path / "out.mp4").resolve())
    assert len(entries(admin, action="submit")) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_body_the_provider_refuses_raises_its_native_validation_code(
    mock: MockServer, admin: httpx.Client, provider: str, tmp_path: Path
) -> None:
    with client(mock, provider, tmp_path) as c:
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


def failure_cases() -> list[tuple[str, str, str]]:
    registry = builtin_registry()
    return [
        (provider, entry["code"], entry["kind"])
        for provider in PROVIDERS
        for entry in registry.get(provider).contract.data["errors"]
        if entry["kind"] in ("generation_failed", "content_policy")
    ]


@pytest.mark.parametrize(("provider", "code", "kind"), failure_cases())
def test_a_failed_generation_raises_with_its_native_code(
    mock: MockServer, admin: httpx.Client, provider: str, code: str, kind: str, tmp_path: Path
) -> None:
    fault(admin, provider, f"generation_failed:{code}", "submit")
    with client(mock, provider, tmp_path) as c:
        job = c.submit(REQUEST)
        with pytest.raises(GenerationFailedError) as caught:
            job.wait(timeout=10)
        assert c.journal is not None and c.journal.get(job.id).phase == "failed"
    assert caught.value.native_code == code
    assert isinstance(caught.value, ContentPolicyError) == (kind == "content_policy")
    assert caught.value.job_id == job.id


@pytest.mark.parametrize("provider", PROVIDERS)
def test_cancel_where_the_provider_can(mock: MockServer, admin: httpx.Client, provider: str, tmp_path: Path) -> None:
    fault(admin, provider, "stuck", "submit")
    with client(mock, provider, tmp_path) as c:
        job = c.submit(REQUEST)
        if not c.endpoint().provider.contract.transport["routes"].get("cancel"):
            with pytest.raises(UnsupportedOptionError, match="documents no way to cancel"):
                job.cancel()
            return
        assert job.cancel() is True
        with pytest.raises(JobCancelledError):
            job.wait(timeout=10)
        assert c.journal is not None and c.journal.get(job.id).phase == "cancelled"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_timeout_keeps_the_job_findable(mock: MockServer, admin: httpx.Client, provider: str, tmp_path: Path) -> None:
    fault(admin, provider, "stuck", "submit")
    with client(mock, provider, tmp_path) as c:
        job = c.submit(REQUEST)
        with pytest.raises(JobTimeoutError) as caught:
            job.wait(timeout=0.3)
        assert caught.value.job_id == job.id
        assert c.journal is not None
        record = c.journal.get(job.id)
        assert not record.finished and record.remote_id == job.remote_id
        assert c.job(job.id[:8]).remote_id == job.remote_id  # resumable by a short prefix


@pytest.mark.parametrize("scenario", ["rate_limited:0.05", "server_error", "connection_reset", "malformed"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_faults_while_polling_are_waited_through(
    mock: MockServer, admin: httpx.Client, provider: str, scenario: str, tmp_path: Path
) -> None:
    fault(admin, provider, scenario, "status", count=2)
    fault(admin, provider, scenario, "stream", count=1)  # fal: the status stream fails first, then polls fail
    with client(mock, provider, tmp_path) as c:
        result = c.generate(REQUEST, timeout=20)
    assert result.url
    faulted = [e for e in entries(admin) if e.get("scenario") and e["action"] in ("status", "stream")]
    assert len(faulted) >= 1  # the fault really happened and was survived
    assert len(entries(admin, action="submit")) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_read_timeout_after_an_accepted_submit_never_submits_twice(
    mock: MockServer, admin: httpx.Client, provider: str, tmp_path: Path
) -> None:
    fault(admin, provider, "timeout_after_accept:0.6", "submit")
    with client(mock, provider, tmp_path, timeout=httpx.Timeout(5, read=0.2)) as c:
        with pytest.raises(SubmitUncertainError) as caught:
            c.submit(REQUEST)
        assert c.journal is not None
        record = c.journal.get(caught.value.local_id or "")
    assert record.phase == "unknown"
    deadline = time.monotonic() + 5
    while not entries(admin, action="submit") and time.monotonic() < deadline:  # the mock answers after 0.6 s
        time.sleep(0.05)
    jobs = admin.get("/jobs").json()["jobs"]
    assert len(jobs) == 1  # the provider accepted exactly one job
    assert len(entries(admin, action="submit")) == 1  # and was sent exactly one submit


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_rate_limited_submit_is_sent_again_and_accepted_once(
    mock: MockServer, admin: httpx.Client, provider: str, tmp_path: Path
) -> None:
    fault(admin, provider, "rate_limited:0.05", "submit")
    with client(mock, provider, tmp_path) as c:
        c.submit(REQUEST)
    statuses = [e["status"] for e in entries(admin, action="submit")]
    assert statuses[0] == 429 and len(statuses) == 2
    assert len(admin.get("/jobs").json()["jobs"]) == 1


def test_the_key_never_reaches_the_journals_or_errors(mock: MockServer, admin: httpx.Client, tmp_path: Path) -> None:
    fault(admin, "fal/r2v-flash", "generation_failed", "submit")
    with client(mock, "fal/r2v-flash", tmp_path) as c:
        job = c.submit(REQUEST)
        with pytest.raises(GenerationFailedError) as caught:
            job.wait(timeout=10)
        texts = [str(caught.value), repr(caught.value), repr(c), repr(job), repr(c.endpoint())]
    texts.append(admin.get("/journal").text)
    assert all(CANARY not in text for text in texts)
    assert CANARY.encode() not in b"".join(p.read_bytes() for p in tmp_path.glob("journal.sqlite3*"))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_async_client_runs_in_process_with_faults(provider: str, tmp_path: Path) -> None:
    async def run() -> Any:
        app = create_app(builtin_registry(), seed=5)
        engine = app.state.engine
        engine.faults.add(__import__("wan26_mock").faults.Fault("server_error"), 2, provider, "status")
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
        async with AsyncClient(
            provider,
            api_key=CANARY,
            base_url="http://mock.test",
            http=http,
            journal=tmp_path / "j.sqlite3",
            time_scale=50,
            retry=FAST_RETRY,
            registry=builtin_registry(),
        ) as c:
            results = await asyncio.gather(*(c.generate(REQUEST, timeout=20) for _ in range(3)))
            await results[0].download(tmp_path / "a.mp4")
        await http.aclose()
        return results, engine

    results, engine = asyncio.run(run())
    assert len({r.job.remote_id for r in results}) == 3
    assert (tmp_path / "a.mp4").read_bytes()[4:8] == b"ftyp"
    assert len(engine.jobs.jobs) == 3
