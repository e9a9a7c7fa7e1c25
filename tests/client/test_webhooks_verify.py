"""verify_webhook accepts what the mock signs and refuses every kind of tampering; end to end over sockets.

The signing scheme is fal's, written once in ``wan26_fal.webhooks``: the mock signs with its ``FalWebhookSigner`` (through
the fal dialect's ``webhook_signer``) and ``wan26core.verify_webhook`` finds fal's verifier among the installed plugins.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

import wan26_fal
from support import builtin_registry
from wan26_fal.webhooks import FalWebhookSigner as WebhookSigner
from wan26_mock.serve import running_server
from wan26core import Client, PluginError
from wan26core.webhooks import WebhookVerificationError, fetch_jwks, verify_webhook

BODY = json.dumps({"request_id": "r1", "status": "OK", "payload": {"video": {"url": "https://x/v.mp4"}}}).encode()
NOW = 1_800_000_000


@pytest.fixture(scope="module")
def signer() -> WebhookSigner:
    return WebhookSigner()


def test_a_signed_webhook_verifies_and_returns_its_payload(signer: WebhookSigner) -> None:
    headers = signer.sign("r1", "u1", NOW, BODY)
    assert verify_webhook(headers, BODY, signer.jwks(), now=NOW + 10)["status"] == "OK"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda h, b: (h, b + b" "), "matches no key"),
        (lambda h, b: ({**h, "X-Fal-Webhook-Request-Id": "r2"}, b), "matches no key"),
        (lambda h, b: ({**h, "X-Fal-Webhook-Timestamp": str(NOW - 3600)}, b), "off"),
        (lambda h, b: ({k: v for k, v in h.items() if "Signature" not in k}, b), "missing webhook header"),
        (lambda h, b: ({**h, "X-Fal-Webhook-Signature": "zz"}, b), "not hex"),
    ],
)
def test_tampering_is_refused_with_the_reason(signer: WebhookSigner, change: Any, message: str) -> None:
    headers, body = change(signer.sign("r1", "u1", NOW, BODY), BODY)
    with pytest.raises(WebhookVerificationError, match=message):
        verify_webhook(headers, body, signer.jwks(), now=NOW)


def test_the_core_alias_and_fal_s_own_verifier_agree(signer: WebhookSigner) -> None:
    from wan26_fal.webhooks import verify_webhook as fal_verify

    headers = signer.sign("r1", "u1", NOW, BODY)
    assert verify_webhook(headers, BODY, signer.jwks(), now=NOW, provider="fal") == fal_verify(
        headers, BODY, signer.jwks(), now=NOW
    )
    with pytest.raises(PluginError, match="no installed provider verifies webhooks for 'vtrix'"):
        verify_webhook(headers, BODY, signer.jwks(), now=NOW, provider="vtrix")


def test_the_mock_signs_with_the_fal_dialect_s_signer() -> None:
    signer = wan26_fal.DIALECT.webhook_signer()
    assert isinstance(signer, WebhookSigner) and signer.kid != wan26_fal.DIALECT.webhook_signer().kid  # a key each


def test_another_key_is_refused(signer: WebhookSigner) -> None:
    with pytest.raises(WebhookVerificationError, match="matches no key"):
        verify_webhook(signer.sign("r1", "u1", NOW, BODY), BODY, WebhookSigner().jwks(), now=NOW)


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.received.append((dict(self.headers.items()), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Receiver.received
    server.shutdown()
    server.server_close()


def test_a_job_submitted_with_a_webhook_is_delivered_and_verifies(receiver: Any, tmp_path: Path) -> None:
    url, received = receiver
    with running_server(builtin_registry(), seed=4, time_scale=5) as mock:
        with Client("fal/r2v-flash", api_key="k", base_url=mock.base_url, journal=tmp_path / "j.sqlite3") as client:
            job = client.submit(
                {"prompt": "@cat waves", "references": [{"name": "cat", "source": "https://e.com/c.mp4"}]}, webhook_url=url
            )
            deadline = time.monotonic() + 10
            while not received and time.monotonic() < deadline:
                time.sleep(0.05)
        jwks = fetch_jwks(mock.base_url + "/.well-known/jwks.json")
    assert received, "no webhook arrived"
    headers, body = received[0]
    payload = verify_webhook(headers, body, jwks)
    assert payload["request_id"] == job.remote_id and payload["status"] == "OK"
    assert payload["payload"]["video"]["url"].startswith("http")
