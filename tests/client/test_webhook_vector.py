"""fal webhook verification against an independent vector: a fixed Ed25519 key and fal's documented layout.

Nothing here uses the project's signer (the mock's ``FalWebhookSigner``): the message is built and signed in this file
with ``cryptography``, exactly as fal documents it ("Verifying your webhook"):

    {request_id}\\n{user_id}\\n{timestamp}\\n{hex sha256 of the raw body}

signed with Ed25519, the signature sent hex-encoded in ``X-Fal-Webhook-Signature``, the public key published as an
OKP/Ed25519 JWK (``x``: base64url, no padding). So a change to the verifier that the mock's signer mirrors (or the
same slip made twice) still fails here.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from wan26core import WebhookVerificationError, verify_webhook

#: RFC 8032, section 7.1, TEST 1: a fixed 32-byte seed and the public key it must give
SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
OTHER_SEED = bytes(range(32))  # another fixed key, never in the JWKS

REQUEST_ID = "764cabcf-b745-4b3e-ae38-1200304cf45b"
USER_ID = "github|12345"
TS = 1_800_000_000  # the webhook's timestamp (unix seconds, as fal sends it)
TOLERANCE = 300  # verify_webhook's default: fal's recommended five minutes
BODY = json.dumps(
    {
        "request_id": REQUEST_ID,
        "gateway_request_id": REQUEST_ID,
        "status": "OK",
        "payload": {"video": {"url": "https://v.fal.media/v.mp4"}},
    },
    separators=(",", ":"),
).encode()


def jwk(key: Ed25519PrivateKey) -> dict[str, str]:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")}


def signed_headers(
    key: Ed25519PrivateKey, body: bytes, *, request_id: str = REQUEST_ID, user_id: str = USER_ID, timestamp: int = TS
) -> dict[str, str]:
    """fal's four headers for ``body``, signed here by the documented layout."""
    message = f"{request_id}\n{user_id}\n{timestamp}\n{hashlib.sha256(body).hexdigest()}".encode()
    return {
        "X-Fal-Webhook-Request-Id": request_id,
        "X-Fal-Webhook-User-Id": user_id,
        "X-Fal-Webhook-Timestamp": str(timestamp),
        "X-Fal-Webhook-Signature": key.sign(message).hex(),
    }


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    private = Ed25519PrivateKey.from_private_bytes(SEED)
    assert private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) == PUBLIC  # the vector is the RFC's
    return private


@pytest.fixture(scope="module")
def jwks(key: Ed25519PrivateKey) -> dict[str, Any]:
    return {"keys": [jwk(key)]}


def test_the_jwk_is_base64url_without_padding(jwks: dict[str, Any]) -> None:
    x = jwks["keys"][0]["x"]
    assert len(x) == 43 and "=" not in x and base64.urlsafe_b64decode(x + "=") == PUBLIC


@pytest.mark.parametrize(
    "now",
    [TS, TS + TOLERANCE - 1, TS - (TOLERANCE - 1)],
    ids=["now", "sent-almost-tolerance-ago", "sent-almost-tolerance-ahead"],
)
def test_a_webhook_signed_by_the_documented_layout_verifies(key: Ed25519PrivateKey, jwks: dict[str, Any], now: int) -> None:
    payload = verify_webhook(signed_headers(key, BODY), BODY, jwks, now=now)
    assert payload == json.loads(BODY)


def test_header_names_are_case_insensitive(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    headers = {name.lower(): value for name, value in signed_headers(key, BODY).items()}
    assert verify_webhook(headers, BODY, jwks, now=TS)["status"] == "OK"


@pytest.mark.parametrize(
    "now",
    [TS + TOLERANCE + 1, TS - TOLERANCE - 1, TS + 86_400, TS - 86_400],
    ids=["sent-too-long-ago", "sent-from-the-future", "a-day-old", "a-day-ahead"],
)
def test_a_timestamp_outside_the_tolerance_is_refused_in_both_directions(
    key: Ed25519PrivateKey, jwks: dict[str, Any], now: int
) -> None:
    with pytest.raises(WebhookVerificationError, match="timestamp"):
        verify_webhook(signed_headers(key, BODY), BODY, jwks, now=now)


def test_the_tolerance_is_a_parameter(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    headers = signed_headers(key, BODY)
    assert verify_webhook(headers, BODY, jwks, now=TS - 59, tolerance_s=60)["status"] == "OK"
    for now in (TS + 61, TS - 61):
        with pytest.raises(WebhookVerificationError, match="timestamp"):
            verify_webhook(headers, BODY, jwks, now=now, tolerance_s=60)


def test_a_changed_body_is_refused(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    headers = signed_headers(key, BODY)
    changed = BODY.replace(b'"OK"', b'"ERROR"')
    assert changed != BODY
    with pytest.raises(WebhookVerificationError, match="matches no key"):
        verify_webhook(headers, changed, jwks, now=TS)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-Fal-Webhook-User-Id", "github|54321"),
        ("X-Fal-Webhook-Request-Id", "00000000-0000-4000-8000-000000000000"),
        ("X-Fal-Webhook-Timestamp", str(TS + 1)),  # still within the tolerance, but not what was signed
    ],
    ids=["user-id", "request-id", "timestamp"],
)
def test_a_changed_signed_header_is_refused(key: Ed25519PrivateKey, jwks: dict[str, Any], header: str, value: str) -> None:
    headers = {**signed_headers(key, BODY), header: value}
    with pytest.raises(WebhookVerificationError, match="matches no key"):
        verify_webhook(headers, BODY, jwks, now=TS)


def test_a_signature_by_another_key_is_refused(jwks: dict[str, Any]) -> None:
    other = Ed25519PrivateKey.from_private_bytes(OTHER_SEED)
    with pytest.raises(WebhookVerificationError, match="matches no key"):
        verify_webhook(signed_headers(other, BODY), BODY, jwks, now=TS)


def test_the_right_key_among_others_verifies(key: Ed25519PrivateKey) -> None:
    other = Ed25519PrivateKey.from_private_bytes(OTHER_SEED)
    jwks = {"keys": [jwk(other), {"kty": "RSA", "n": "x", "e": "AQAB"}, jwk(key)]}  # fal rotates: any listed key may sign
    assert verify_webhook(signed_headers(key, BODY), BODY, jwks, now=TS)["status"] == "OK"
