"""The mock's memory and work are bounded: a capped job store (oldest finished jobs evicted first), data URIs kept as
digests in jobs and the journal, outputs clamped to the largest documented shape and made off the event loop, one
encode per shape, stoppable between two frames."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

import wan26_vtrix
from mockkit import CANARY, SCENARIO, advance
from support import CONTRACTS, builtin_registry
from wan26_mock import create_app
from wan26_mock.engine import Engine, output_shape
from wan26_mock.journal import MAX_BODY
from wan26_mock.limits import DEFAULT_MAX_JOBS
from wan26_mock.outputs import MAX_DURATION_S, MAX_PIXELS, MAX_SIDE, OutputsClosed, OutputShape, OutputStore, bounded_shape
from wan26core import GenerationRequest, Reference, Registry

AUTH = {"authorization": f"Bearer {CANARY}"}
SUBMIT = "/model/v1/generation"
TASK = "/model/v1/generation/task/{}"


def body(*references: str, duration: Any = 5) -> dict[str, Any]:
    prompt = " ".join(f"character{i + 1}" for i in range(len(references))) + " wave"
    return {
        "model": "wan26_r2v",
        "input": {"prompt": prompt, "reference_urls": list(references)},
        "parameters": {"size": "1280*720", "duration": duration},
    }


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return Engine(Registry([wan26_vtrix], entry_points=False), seed=5, frozen_clock=True, output_dir=tmp_path, max_jobs=10)


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(engine=engine), base_url="http://mock.test") as test_client:
        yield test_client


def submit(client: TestClient, payload: dict[str, Any] | None = None, **headers: str) -> str:
    answer = client.post(SUBMIT, json=payload or body("https://example.com/a.mp4"), headers={**AUTH, **headers})
    assert answer.status_code == 200 and answer.json().get("id"), answer.text
    job_id: str = answer.json()["id"]
    return job_id


def data_uri(size: int, media_type: str = "video/mp4") -> tuple[str, bytes]:
    data = hashlib.sha256(b"seed").digest() * (size // 32 + 1)
    data = data[:size]
    return f"data:{media_type};base64," + base64.b64encode(data).decode(), data


# --- the job store is capped ----------------------------------------------------------------------------
def test_the_store_keeps_at_most_max_jobs_and_evicts_the_oldest_finished_first(client: TestClient, engine: Engine) -> None:
    stuck = submit(client, **{SCENARIO: "stuck"})  # the oldest job, never finishes
    finished = [submit(client) for _ in range(5)]
    advance(client, 60)  # these five have finished
    running = [submit(client) for _ in range(4)]
    assert len(engine.jobs.jobs) == 10
    newest = submit(client)  # past the cap: a tenth of it (one job) goes, the oldest finished one
    assert len(engine.jobs.jobs) == 10
    assert finished[0] not in engine.jobs.jobs
    assert {stuck, *finished[1:], *running, newest} == set(engine.jobs.jobs)
    for _ in range(30):
        submit(client)
    assert len(engine.jobs.jobs) <= 10 and engine.jobs.evicted == 31
    health = client.get("/__wan26__/health").json()
    assert (health["jobs"], health["max_jobs"]) == (len(engine.jobs.jobs), 10)


def test_unfinished_jobs_go_oldest_first_when_none_has_finished(client: TestClient, engine: Engine) -> None:
    ids = [submit(client, **{SCENARIO: "stuck"}) for _ in range(12)]
    assert list(engine.jobs.jobs) == ids[2:]
    assert client.get(TASK.format(ids[0]), headers=AUTH).status_code < 500  # an evicted job is simply unknown


def test_the_default_cap_is_documented_and_the_cap_is_checked() -> None:
    assert Engine(builtin_registry()).jobs.max_jobs == DEFAULT_MAX_JOBS == 20_000
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="max_jobs"):
            Engine(builtin_registry(), max_jobs=bad)  # type: ignore[arg-type]


def test_ten_thousand_jobs_stay_within_the_cap(tmp_path: Path) -> None:
    engine = Engine(builtin_registry(), seed=1, frozen_clock=True, output_dir=tmp_path, max_jobs=1_000)
    raw = json.dumps(body("https://example.com/a.mp4")).encode()
    headers = {**AUTH, "content-type": "application/json"}

    async def many() -> None:
        for _ in range(10_000):
            answer = await engine.handle_parts("POST", SUBMIT, {}, headers, raw, "http://mock.test")
            assert answer.status == 200

    asyncio.run(many())
    assert len(engine.jobs.jobs) <= 1_000 and engine.jobs.evicted >= 9_000


# --- data URIs are kept as digests --------------------------------------------------------------------
def test_a_data_uri_is_journaled_and_kept_as_media_type_size_and_digest(client: TestClient, engine: Engine) -> None:
    uri, data = data_uri(3 * 2**20)
    job_id = submit(client, body(uri))
    digest = f"data:video/mp4;bytes={len(data)};sha256={hashlib.sha256(data).hexdigest()}"
    (entry,) = client.get("/__wan26__/journal", params={"action": "submit"}).json()["entries"]
    assert entry["body"]["input"]["reference_urls"] == [digest]
    view = client.get(f"/__wan26__/jobs/{job_id}")
    assert len(view.content) < 16_384
    assert view.json()["wire"]["input"]["reference_urls"] == [digest]
    assert view.json()["request"]["references"][0]["source"] == digest
    listing = client.get("/__wan26__/jobs")
    assert len(listing.content) < 16_384 and "base64," not in listing.text
    job = engine.jobs.jobs[job_id]
    assert job.request.references[0].kind == "video"  # judged from the data URI before it was digested
    assert len(json.dumps(job.wire)) < 4096


def test_small_data_uris_inside_json_are_digested_too(client: TestClient) -> None:
    tiny = b"\x89PNG tiny"
    uri = "data:image/png;base64," + base64.b64encode(tiny).decode()
    client.post(SUBMIT, json=body(uri, "https://example.com/b.mp4"), headers=AUTH)
    (entry,) = client.get("/__wan26__/journal", params={"action": "submit"}).json()["entries"]
    first, second = entry["body"]["input"]["reference_urls"]
    assert first == f"data:image/png;bytes=9;sha256={hashlib.sha256(tiny).hexdigest()}"
    assert second == "https://example.com/b.mp4"


def test_a_large_body_without_data_uris_is_kept_as_its_size_and_digest(client: TestClient) -> None:
    payload = body("https://example.com/a.mp4")
    payload["input"]["prompt"] = "character1 " + "x" * (MAX_BODY * 2)
    raw = json.dumps(payload).encode()
    client.post(SUBMIT, content=raw, headers={**AUTH, "content-type": "application/json"})
    (entry,) = client.get("/__wan26__/journal", params={"action": "submit"}).json()["entries"]
    assert entry["body"] == {"truncated": True, "size": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}


# --- outputs: bounded shapes, made off the loop, one encode per shape ---------------------------------------
@pytest.mark.parametrize("pid", sorted(CONTRACTS))
@pytest.mark.parametrize(
    "changes",
    [
        {"duration": 100_000},
        {"duration": -1},
        {"duration": 0},
        {"duration": 7},
        {"resolution": "8k", "aspect_ratio": "99:1"},
        {"duration": True},
        {"duration": "abc"},
    ],
)
def test_an_output_is_never_bigger_than_the_contract_allows(pid: str, changes: dict[str, Any], tmp_path: Path) -> None:
    contract = CONTRACTS[pid]
    store = Engine(builtin_registry(), frozen_clock=True, output_dir=tmp_path).jobs
    request = GenerationRequest(prompt="x", references=(Reference("a", "https://example.com/a.mp4"),))
    job = store.create(pid, contract, request.replace(**changes), {}, 0.0)
    shape = output_shape(job, contract)
    durations = contract.option("duration").get("values") or [contract.default("duration")]
    assert shape.duration in durations or shape.duration == contract.default("duration")
    assert shape.duration <= MAX_DURATION_S and shape.width * shape.height <= MAX_PIXELS
    assert max(shape.width, shape.height) <= MAX_SIDE


@pytest.mark.parametrize(
    ("asked", "bounded"),
    [
        ((100_000, 100_000, 10**6), (1440, 1440, MAX_DURATION_S)),
        ((1920, 1080, 15), (1920, 1080, 15)),
        ((1441, 1441, 5), (1440, 1440, 5)),
        ((3, 3, -5), (16, 16, 1)),
        ((50_000, 10, 5), (1920, 16, 5)),
    ],
)
def test_bounded_shapes(asked: tuple[int, int, int], bounded: tuple[int, int, int]) -> None:
    shape = bounded_shape(*asked, audio=False)
    assert (shape.width, shape.height, shape.duration) == bounded
    assert shape.width * shape.height <= MAX_PIXELS


def test_an_encode_never_blocks_another_shape_and_same_shapes_share_one(tmp_path: Path) -> None:
    store = OutputStore(tmp_path)
    big = store.prepare(OutputShape(1920, 1080, 10))
    began = time.monotonic()
    small = store.path(OutputShape(64, 64, 1))  # made beside the big one, not after it
    assert time.monotonic() - began < 1.5 and small.is_file()
    assert not big.done(), "the big encode should still run (else this test proves nothing)"
    assert store.prepare(OutputShape(1920, 1080, 10)) is big
    assert big.result(timeout=60).is_file()


def test_closing_the_store_stops_an_encode_between_two_frames(tmp_path: Path) -> None:
    store = OutputStore(tmp_path)
    future = store.prepare(OutputShape(1920, 1080, 15, audio=True))
    time.sleep(0.3)
    began = time.monotonic()
    store.close()
    with pytest.raises(OutputsClosed):
        future.result(timeout=5)
    assert time.monotonic() - began < 1
    assert not list(tmp_path.iterdir())  # no partial file left behind
    with pytest.raises(OutputsClosed):
        store.prepare(OutputShape(64, 64, 1))


def test_a_poll_that_makes_a_video_never_holds_the_event_loop(client: TestClient, engine: Engine) -> None:
    job_id = submit(client, body("https://example.com/a.mp4", duration=10))
    advance(client, 60)
    ticks: list[float] = []
    stop = threading.Event()

    async def poll_and_tick() -> None:
        async def ticker() -> None:
            while not stop.is_set():
                began = time.monotonic()
                await asyncio.sleep(0.01)
                ticks.append(time.monotonic() - began)

        task = asyncio.ensure_future(ticker())
        answer = await engine.handle_parts("GET", TASK.format(job_id), {}, AUTH, b"", "http://mock.test")
        stop.set()
        await task
        assert answer.status == 200

    asyncio.run(poll_and_tick())
    assert len(ticks) > 5 and max(ticks) < 0.5  # the loop kept turning while the video was made
