"""fal webhooks from the mock: the documented payload, ED25519 headers verifiable against the served JWKS, retries."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from starlette.testclient import TestClient

import wan26_fal
from livekit import wait_for
from mockkit import CANARY, SCENARIO, advance, mock_client
from wan26_mock.webhooks import retry_delays
from wan26core import builtin_contract

AUTH = {"Authorization": f"Key {CANARY}"}
FLASH = "/wan/v2.6/reference-to-video/flash"
BODY = {"prompt": "Character1 dances in the rain.", "video_urls": ["https://example.com/refs/dancer.mp4"]}


# --- an independent verifier, written from fal's docs (not from the mock's signer) -------------------


def verify(jwks: Mapping[str, Any], headers: Mapping[str, str], body: bytes, now: float | None = None) -> bool:
    """fal's documented check: a fresh timestamp and an ED25519 signature, by a JWKS key, of
    ``request_id\\nuser_id\\ntimestamp\\nsha256hex(body)``."""
    try:
        request_id = headers["x-fal-webhook-request-id"]
        user_id = headers["x-fal-webhook-user-id"]
        stamp = headers["x-fal-webhook-timestamp"]
        signature = bytes.fromhex(headers["x-fal-webhook-signature"])
        fresh = abs((time.time() if now is None else now) - int(stamp)) <= 300
    except (KeyError, ValueError):
        return False
    message = "\n".join([request_id, user_id, stamp, hashlib.sha256(body).hexdigest()]).encode()
    for key in jwks.get("keys", []):
        if key.get("kty") != "OKP" or key.get("crv") != "Ed25519":
            continue
        public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(key["x"] + "=" * (-len(key["x"]) % 4)))
        try:
            public.verify(signature, message)
        except InvalidSignature:
            continue
        return fresh
    return False


# --- a receiver on loopback ---------------------------------------------------------------------------


class Receiver:
    """A tiny HTTP server that records each POST and answers the given statuses in turn (then 200)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@contextmanager
def fal_mock() -> Iterator[TestClient]:
    with mock_client(wan26_fal) as client:
        yield client


def submit(client: TestClient, webhook: str, **headers: str) -> dict[str, Any]:
    response = client.post(f"{FLASH}?{urlencode({'fal_webhook': webhook})}", json=BODY, headers={**AUTH, **headers})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def delivery(client: TestClient, job_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = client.get("/__wan26__/webhooks", params={"job_id": job_id}).json()["deliveries"]
    assert len(found) == 1
    return found[0]


# --- tests ----------------------------------------------------------------------------------------


def test_the_jwks_is_served_at_fals_path_in_the_documented_format() -> None:
    with fal_mock() as client:
        response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    (key,) = response.json()["keys"]
    assert (key["kty"], key["crv"]) == ("OKP", "Ed25519")
    assert len(base64.urlsafe_b64decode(key["x"] + "=" * (-len(key["x"]) % 4))) == 32
    assert key["kid"]
    path = builtin_contract("fal/r2v-flash").transport["webhook"]["jwks_url"].split("fal.ai", 1)[1]
    assert path == "/.well-known/jwks.json"


def test_a_failed_delivery_is_retried_and_every_attempt_is_signed_and_visible() -> None:
    with Receiver([500]) as receiver, fal_mock() as client:
        job = submit(client, receiver.url + "/hooks/fal?token=s3cret")
        assert job["gateway_request_id"] == job["request_id"]
        assert delivery(client, job["request_id"])["state"] == "waiting"
        jwks = client.get("/.well-known/jwks.json").json()

        advance(client, 5)  # the job completes: the first delivery is answered 500
        wait_for(lambda: delivery(client, job["request_id"])["state"] == "due", what="a failed first attempt")
        first = delivery(client, job["request_id"])
        assert [a["status"] for a in first["attempts"]] == [500]
        assert "500" in first["attempts"][0]["error"]
        delay = first["next_attempt_at"] - first["attempts"][0]["time"]
        assert delay == pytest.approx(retry_delays(10, 7.2)[0])  # fal's 10 retries over 2 h, a thousand times faster
        assert "s3cret" not in json.dumps(first)

        advance(client, 1)
        wait_for(lambda: delivery(client, job["request_id"])["state"] == "delivered", what="the retry")
        done = delivery(client, job["request_id"])
        assert [a["status"] for a in done["attempts"]] == [500, 200]
        result = client.get(job["response_url"], headers=AUTH).json()

    assert len(receiver.received) == 2
    for path, headers, body in receiver.received:
        assert path == "/hooks/fal?token=s3cret"
        assert headers["content-type"] == "application/json"
        assert headers["x-fal-webhook-request-id"] == job["request_id"]
        assert verify(jwks, headers, body)
        assert not verify(jwks, headers, body + b" ")  # the verifier can fail: a tampered body
        assert not verify(jwks, {**headers, "x-fal-webhook-user-id": "someone-else"}, body)
        assert not verify(jwks, headers, body, now=int(headers["x-fal-webhook-timestamp"]) + 301)
    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    foreign = {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": base64.urlsafe_b64encode(other).rstrip(b"=").decode()}]}
    assert not verify(foreign, receiver.received[1][1], receiver.received[1][2])
    assert receiver.received[0][2] == receiver.received[1][2]  # the same payload, signed again
    payload = json.loads(receiver.received[1][2])
    ids = {"request_id": job["request_id"], "gateway_request_id": job["request_id"]}
    assert payload == {**ids, "status": "OK", "payload": result}
    assert done["payload"] == payload


def test_a_failed_generation_posts_an_error_with_the_result_body() -> None:
    with Receiver([]) as receiver, fal_mock() as client:
        job = submit(client, receiver.url + "/hook", **{SCENARIO: "generation_failed"})
        advance(client, 5)
        wait_for(lambda: len(receiver.received) == 1, what="the webhook")
        result = client.get(job["response_url"], headers=AUTH)
    payload = json.loads(receiver.received[0][2])
    assert payload["status"] == "ERROR"
    assert payload["error"] == f"Invalid status code: {result.status_code}" == "Invalid status code: 422"
    assert payload["payload"] == result.json()
    assert payload["payload"]["detail"][0]["type"] == "no_media_generated"


def test_a_cancelled_request_is_reported_at_once() -> None:
    with Receiver([]) as receiver, fal_mock() as client:
        job = submit(client, receiver.url + "/hook")
        assert client.put(job["cancel_url"], headers=AUTH).status_code == 202
        wait_for(lambda: len(receiver.received) == 1, what="the webhook")  # no clock advance needed
    payload = json.loads(receiver.received[0][2])
    assert (payload["status"], payload["error"]) == ("ERROR", "Invalid status code: 499")
    assert payload["payload"]["error_type"] == "client_cancelled"


def test_an_unreachable_receiver_gets_ten_retries_then_the_delivery_fails() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    with fal_mock() as client:
        job = submit(client, url)
        for attempts in range(1, 12):
            advance(client, 5)
            wait_for(lambda n=attempts: len(delivery(client, job["request_id"])["attempts"]) == n, what=f"attempt {attempts}")
        wait_for(lambda: delivery(client, job["request_id"])["state"] == "failed", what="the delivery to fail")
        final = delivery(client, job["request_id"])
        advance(client, 60)
        assert len(delivery(client, job["request_id"])["attempts"]) == 11
    assert all(a["status"] is None and "ConnectError" in a["error"] for a in final["attempts"])
    times = [a["time"] for a in final["attempts"]]
    assert times == sorted(times)


def test_the_retry_schedule_doubles_and_spans_the_documented_window() -> None:
    hook = builtin_contract("fal/r2v").transport["webhook"]
    delays = retry_delays(hook["retries"], hook["retry_window_s"])
    assert len(delays) == 10
    assert sum(delays) == pytest.approx(7200)
    assert all(b == pytest.approx(2 * a) for a, b in itertools.pairwise(delays))


def test_the_payload_has_the_keys_of_the_contract_examples() -> None:
    with Receiver([]) as receiver, fal_mock() as client:
        submit(client, receiver.url + "/ok")
        submit(client, receiver.url + "/error", **{SCENARIO: "content_policy"})
        advance(client, 5)
        wait_for(lambda: len(receiver.received) == 2, what="both webhooks")
    sent = {path: json.loads(body) for path, _, body in receiver.received}
    examples = {e["body"]["status"]: e["body"] for e in builtin_contract("fal/r2v-flash").examples("webhook")}
    assert set(sent["/ok"]) == set(examples["OK"])
    assert set(sent["/error"]) == set(examples["ERROR"])
