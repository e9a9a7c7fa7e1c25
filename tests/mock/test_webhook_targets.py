"""Webhooks never reach the mock itself (its own address in any spelling, its admin prefix on any host), and every
delivery is bounded in time: a receiver that drips its answer is cut off."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

import httpx
import pytest

import wan26_fal
from livekit import wait_for
from mockkit import CANARY, advance, mock_client
from wan26_mock.engine import ADMIN_PREFIX, Engine
from wan26_mock.serve import MockServer, running_server
from wan26_mock.webhooks import USER_AGENT, refusal
from wan26core import Registry

AUTH = {"Authorization": f"Key {CANARY}"}
FLASH = "/wan/v2.6/reference-to-video/flash"
BODY = {"prompt": "Character1 dances in the rain.", "video_urls": ["https://example.com/refs/dancer.mp4"]}
OWN = {("127.0.0.1", 8000), ("mock.test", 80)}


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/__wan26__/reset",
        "http://127.0.0.1:8000/hook",
        "http://localhost:8000/hook",
        "http://LOCALHOST:8000/hook",
        "http://127.1:8000/hook",
        "http://127.0.0.2:8000/hook",
        "http://0x7f.1:8000/hook",
        "http://2130706433:8000/hook",
        "http://0.0.0.0:8000/hook",
        "http://[::1]:8000/hook",
        "http://[::ffff:127.0.0.1]:8000/hook",
        "http://mock.test/hook",
        "http://MOCK.test:80/hook",
        "https://elsewhere.example/__wan26__/scenarios",  # another mock's admin API is no receiver either
        "http://127.0.0.1:9/__wan26__",
        "http://example.com/" + "x" * 3000,
        "http://[::1/hook",
    ],
)
def test_the_mock_refuses_targets_that_are_itself_or_an_admin_api(url: str) -> None:
    assert refusal(url, ADMIN_PREFIX, OWN) is not None


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8001/hook", "http://localhost:9000/__wan26", "https://example.com/hook", "http://mock.test:8080/hook"],
)
def test_other_targets_are_delivered_to(url: str) -> None:
    assert refusal(url, ADMIN_PREFIX, OWN) is None


def test_a_webhook_to_the_admin_api_in_process_is_refused_and_resets_nothing() -> None:
    with mock_client(wan26_fal) as client:
        hook = "http://mock.test/__wan26__/reset"
        job = client.post(f"{FLASH}?{urlencode({'fal_webhook': hook})}", json=BODY, headers=AUTH).json()
        advance(client, 60)
        (delivery,) = client.get("/__wan26__/webhooks", params={"job_id": job["request_id"]}).json()["deliveries"]
        assert delivery["state"] == "failed" and "refused" in delivery["attempts"][0]["error"]
        assert len(client.get("/__wan26__/jobs").json()["jobs"]) == 1


@contextmanager
def live_fal() -> Iterator[MockServer]:
    engine = Engine(Registry([wan26_fal], entry_points=False), seed=3)
    with running_server(engine=engine) as server:
        yield server


@pytest.mark.parametrize(
    "target",
    ["{base}/__wan26__/reset", "http://localhost:{port}/__wan26__/reset", "http://127.1:{port}/hook", "http://[::1]:{port}/x"],
)
def test_a_webhook_to_the_live_mock_itself_is_never_sent(target: str) -> None:
    with live_fal() as mock, httpx.Client(base_url=mock.base_url, timeout=10) as http:
        http.post("/__wan26__/scenarios", json={"scenario": "stuck", "count": 1, "action": "submit"}).raise_for_status()
        http.post(FLASH, json=BODY, headers=AUTH).raise_for_status()  # a job the reset would wipe
        port = mock.base_url.rsplit(":", 1)[1]
        hook = target.format(base=mock.base_url, port=port)
        job = http.post(f"{FLASH}?{urlencode({'fal_webhook': hook})}", json=BODY, headers=AUTH).json()
        http.post("/__wan26__/clock/advance", json={"seconds": 60}).raise_for_status()
        time.sleep(0.3)  # time for a delivery, were one sent
        (delivery,) = http.get("/__wan26__/webhooks", params={"job_id": job["request_id"]}).json()["deliveries"]
        assert delivery["state"] == "failed" and "refused" in delivery["attempts"][0]["error"], delivery
        assert http.get("/__wan26__/jobs").json()["total"] == 2
        journal = http.get("/__wan26__/journal").json()["entries"]
        assert not [e for e in journal if e["path"].endswith("/reset") or e["path"] in ("/hook", "/x")]


def test_the_mock_refuses_to_serve_its_own_webhooks() -> None:
    """The last line of defence, for a way back no address check can see (a DNS name, another interface)."""
    with live_fal() as mock:
        answer = httpx.post(mock.base_url + "/__wan26__/reset", json={}, headers={"user-agent": USER_AGENT})
        assert answer.status_code == 403


@contextmanager
def dripping_receiver() -> Iterator[str]:
    """A receiver that sends the start of an answer and then one byte a tenth of a second, for ever."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\nx-slow: ")
                while not stop.is_set():
                    try:
                        connection.sendall(b"a")
                    except OSError:
                        break
                    time.sleep(0.1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


def test_a_delivery_attempt_is_bounded_in_time_whatever_the_receiver_does() -> None:
    with dripping_receiver() as hook, live_fal() as mock, httpx.Client(base_url=mock.base_url, timeout=10) as http:
        mock.engine.webhooks.timeout_s = 0.5
        job = http.post(f"{FLASH}?{urlencode({'fal_webhook': hook})}", json=BODY, headers=AUTH).json()
        http.post("/__wan26__/clock/advance", json={"seconds": 60}).raise_for_status()

        def attempts() -> list[dict[str, object]]:
            (delivery,) = http.get("/__wan26__/webhooks", params={"job_id": job["request_id"]}).json()["deliveries"]
            found: list[dict[str, object]] = delivery["attempts"]
            return found

        began = time.monotonic()
        wait_for(attempts, timeout=5, what="the first attempt to end")
        assert time.monotonic() - began < 3
        assert "no answer within" in str(attempts()[0]["error"]), attempts()
