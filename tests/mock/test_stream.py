"""fal's SSE status stream: one event per change, keep-alives while quiet, the end after COMPLETED; waits, never polls."""

from __future__ import annotations

import itertools
import json
import threading
import time
from datetime import datetime
from typing import Any

import anyio
import httpx
import pytest

import wan26_fal
from livekit import live_server, wait_for
from mockkit import CANARY, mock_client
from wan26_mock import create_app
from wan26_mock.engine import Engine
from wan26_mock.streams import MockStream
from wan26core import Registry
from wan26core._dialect import MockRequest

AUTH = {"Authorization": f"Key {CANARY}"}
FLASH = "/wan/v2.6/reference-to-video/flash"
BODY = {"prompt": "Character1 dances in the rain.", "video_urls": ["https://example.com/refs/dancer.mp4"]}
ORDER = {"IN_QUEUE": 0, "IN_PROGRESS": 1, "COMPLETED": 2}


def engine(keepalive: float = 30.0) -> Engine:
    return Engine(Registry(plugins=[wan26_fal], entry_points=False), seed=11, frozen_clock=True, stream_keepalive=keepalive)


def in_process(mock: Engine) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(engine=mock)), base_url="http://mock.test")


def parse_sse(text: str) -> tuple[list[dict[str, Any]], int]:
    """(the JSON of every data event, the number of comment lines), read as an SSE client does."""
    events: list[dict[str, Any]] = []
    comments = 0
    for block in text.split("\n\n"):
        lines = [line for line in block.split("\n") if line]
        comments += sum(line.startswith(":") for line in lines)
        data = [line[len("data:") :].lstrip(" ") for line in lines if line.startswith("data:")]
        if data:
            events.append(json.loads("\n".join(data)))
    return events, comments


@pytest.mark.anyio
async def test_each_change_is_one_event_and_the_stream_ends_after_completed() -> None:
    mock = engine()
    async with in_process(mock) as client:
        job = (await client.post(FLASH, json=BODY, headers=AUTH)).json()
        box: dict[str, httpx.Response] = {}

        async def read() -> None:
            box["response"] = await client.get(job["status_url"] + "/stream?logs=1", headers=AUTH)

        async with anyio.create_task_group() as group:
            group.start_soon(read)
            for _ in range(14):  # through the queue, the run and past the end, a tenth of a second at a time
                await anyio.sleep(0.01)
                mock.clock.advance(0.1)
        response = box["response"]
        final = (await client.get(job["status_url"] + "?logs=1", headers=AUTH)).json()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-fal-request-id"] == job["request_id"]
    events, _ = parse_sse(response.text)
    statuses = [e["status"] for e in events]
    assert statuses[0] == "IN_QUEUE" and statuses[-1] == "COMPLETED" and "IN_PROGRESS" in statuses
    assert statuses.count("COMPLETED") == 1
    assert [ORDER[s] for s in statuses] == sorted(ORDER[s] for s in statuses)
    assert all(a != b for a, b in itertools.pairwise(events)), "an event repeats an unchanged status"
    assert all(e["logs"] for e in events if e["status"] == "IN_PROGRESS")
    assert {**events[-1], "logs": None} == {**final, "logs": None}  # the status route's body, the logs aside
    assert response.text.endswith("\n\n")


@pytest.mark.anyio
async def test_quiet_streams_get_keepalive_comments_and_no_repeated_events() -> None:
    mock = engine(keepalive=0.05)
    async with in_process(mock) as client:
        job = (await client.post(FLASH, json=BODY, headers=AUTH)).json()
        box: dict[str, httpx.Response] = {}

        async def read() -> None:
            box["response"] = await client.get(job["status_url"] + "/stream", headers=AUTH)

        async with anyio.create_task_group() as group:
            group.start_soon(read)
            await anyio.sleep(0.4)  # the frozen clock: nothing changes meanwhile
            mock.clock.advance(5)
    events, comments = parse_sse(box["response"].text)
    assert [e["status"] for e in events] == ["IN_QUEUE", "COMPLETED"]
    assert comments >= 3
    assert ": keep-alive\n\n" in box["response"].text
    assert "logs" not in events[0] and events[1]["logs"] == []  # as the status route without ?logs


def test_a_clock_advanced_from_another_thread_wakes_a_waiting_stream() -> None:
    with mock_client(wan26_fal) as client:
        mock: Engine = client.app.state.engine  # type: ignore[attr-defined]
        job = client.post(FLASH, json=BODY, headers=AUTH).json()
        box: dict[str, Any] = {}
        reader = threading.Thread(target=lambda: box.update(response=client.get(job["status_url"] + "/stream", headers=AUTH)))
        reader.start()
        wait_for(lambda: mock.notifier.waiting() >= 1, what="the stream to wait")
        mock.clock.advance(5)
        reader.join(timeout=10)
        assert not reader.is_alive()
    events, _ = parse_sse(box["response"].text)
    assert [e["status"] for e in events] == ["IN_QUEUE", "COMPLETED"]


def test_a_stream_needs_a_key_and_a_known_request() -> None:
    with mock_client(wan26_fal) as client:
        job = client.post(FLASH, json=BODY, headers=AUTH).json()
        assert client.get(job["status_url"] + "/stream").status_code == 401
        unknown = client.get("/wan/v2.6/requests/00000000-0000-4000-8000-000000000000/status/stream", headers=AUTH)
        assert unknown.status_code == 404
        assert unknown.json() == {"detail": "Request not found"}


def test_the_stream_on_a_real_socket() -> None:
    mock = engine(keepalive=0.05)
    with live_server(mock) as base, httpx.Client(base_url=base, timeout=10) as client:
        job = client.post(FLASH, json=BODY, headers=AUTH).json()
        assert job["status_url"].startswith(base)
        lines: list[str] = []
        with client.stream("GET", job["status_url"] + "/stream?logs=1", headers=AUTH) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            stream = response.iter_lines()
            while not any(line.startswith(":") for line in lines):  # the first event, then a keep-alive
                lines.append(next(stream))
            assert client.post("/__wan26__/clock/advance", json={"seconds": 5}).status_code == 200
            lines.extend(stream)  # ends when the server closes the stream after COMPLETED
    events, comments = parse_sse("\n".join(lines) + "\n")
    assert [e["status"] for e in events] == ["IN_QUEUE", "COMPLETED"]
    assert comments >= 1
    assert events[-1]["metrics"]["inference_time"] > 0


@pytest.mark.anyio
async def test_a_thousand_idle_streams_wait_without_using_the_cpu() -> None:
    mock = engine(keepalive=60)
    headers = {k.lower(): v for k, v in AUTH.items()}
    submitted = await mock.handle(MockRequest("POST", FLASH, {}, headers, json.dumps(BODY).encode(), "http://mock.test"))
    path = f"/wan/v2.6/requests/{submitted.body['request_id']}/status/stream"
    streams = [await mock.handle(MockRequest("GET", path, {}, headers, b"", "http://mock.test")) for _ in range(1000)]
    assert all(isinstance(s, MockStream) for s in streams)
    received: list[list[bytes]] = []

    async def consume(stream: MockStream) -> None:
        chunks: list[bytes] = []
        received.append(chunks)
        async for chunk in stream.chunks():
            chunks.append(chunk)

    async with anyio.create_task_group() as group:
        for stream in streams:
            group.start_soon(consume, stream)  # type: ignore[arg-type]
        deadline = time.monotonic() + 30
        while mock.notifier.waiting() < 1000:
            assert time.monotonic() < deadline
            await anyio.sleep(0.01)
        cpu = time.process_time()
        await anyio.sleep(0.5)
        idle = time.process_time() - cpu
        mock.clock.advance(5)
    assert idle < 0.15, f"1000 idle streams used {idle:.3f} s of CPU in 0.5 s"
    assert all(len(chunks) == 2 for chunks in received)
    assert all(b'"status":"COMPLETED"' in chunks[-1] for chunks in received)
    assert mock.notifier.waiting() == 0


async def read_stream(mock: Engine, client: httpx.AsyncClient, url: str, steps: int = 14) -> list[dict[str, Any]]:
    """The events of the stream at ``url`` while the clock moves on a tenth of a second at a time."""
    box: dict[str, httpx.Response] = {}

    async def read() -> None:
        box["response"] = await client.get(url, headers=AUTH)

    async with anyio.create_task_group() as group:
        group.start_soon(read)
        for _ in range(steps):
            await anyio.sleep(0.01)
            mock.clock.advance(0.1)
    events, _ = parse_sse(box["response"].text)
    return events


def accumulated(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What ``@fal-ai/client`` shows after these events: it appends each event's ``logs`` to the ones it has
    (subscribeToStatus in streaming mode: "accumulate logs to match previous polling behavior")."""
    logs: list[dict[str, Any]] = []
    for event in events:
        if isinstance(event.get("logs"), list) and event["logs"]:
            logs.extend(event["logs"])
    return logs


@pytest.mark.anyio
async def test_stream_events_carry_only_new_log_lines_so_the_js_client_shows_each_once() -> None:
    mock = engine()
    async with in_process(mock) as client:
        job = (await client.post(FLASH, json=BODY, headers=AUTH)).json()
        events = await read_stream(mock, client, job["status_url"] + "/stream?logs=1")
        polled = (await client.get(job["status_url"] + "?logs=1", headers=AUTH)).json()["logs"]
    assert len(polled) >= 5 and polled[-1]["message"] == "Encoding video"
    assert accumulated(events) == polled  # each line once, in order: what polling with logs=1 shows
    sent = [line["message"] for e in events for line in e.get("logs", [])]
    assert len(sent) == len(set(sent))
    assert all(e["logs"] for e in events if e["status"] == "IN_PROGRESS")  # an event says something new


@pytest.mark.anyio
async def test_a_stream_opened_mid_run_first_sends_the_lines_so_far_then_only_new_ones() -> None:
    mock = engine()
    async with in_process(mock) as client:
        job = (await client.post(FLASH, json=BODY, headers=AUTH)).json()
        mock.clock.advance(0.25 + 0.5)  # through the queue and two thirds of the run
        so_far = (await client.get(job["status_url"] + "?logs=1", headers=AUTH)).json()["logs"]
        events = await read_stream(mock, client, job["status_url"] + "/stream?logs=1", steps=6)
        polled = (await client.get(job["status_url"] + "?logs=1", headers=AUTH)).json()["logs"]
    assert len(so_far) >= 3 and events[0]["logs"] == so_far
    assert accumulated(events) == polled and len(polled) > len(so_far)


@pytest.mark.anyio
async def test_each_log_line_has_its_own_timestamp_in_the_order_written() -> None:
    mock = engine()
    async with in_process(mock) as client:
        job = (await client.post(FLASH, json=BODY, headers=AUTH)).json()
        mock.clock.advance(60)
        logs = (await client.get(job["status_url"] + "?logs=1", headers=AUTH)).json()["logs"]
    stamps = [datetime.fromisoformat(line["timestamp"]) for line in logs]
    assert len(set(stamps)) == len(stamps) and stamps == sorted(stamps)
    created = mock.jobs.jobs[job["request_id"]].created_at
    assert all(created <= stamp.timestamp() <= created + 1.0 for stamp in stamps)  # within the job's (fast) run
