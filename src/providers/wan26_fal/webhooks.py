"""fal's webhook signatures, written once: the mock signs with :class:`FalWebhookSigner`, users verify with
:func:`verify_webhook` (also reachable as ``wan26core.verify_webhook``).

fal signs ``{request_id}\\n{user_id}\\n{timestamp}\\n{hex sha256 of the raw body}`` with ED25519 and sends the hex
signature in ``X-Fal-Webhook-Signature`` beside ``X-Fal-Webhook-Request-Id``, ``-User-Id`` and ``-Timestamp`` (unix
seconds, wall clock); its public keys are a JWKS (``kty`` OKP, ``crv`` Ed25519, base64url ``x``) at
``https://rest.alpha.fal.ai/.well-known/jwks.json`` (fal docs, "Verifying your webhook"; the fal contracts'
``transport.webhook``). Both halves need ``cryptography`` (the ``[webhooks]`` or ``[mock]`` extra), imported on use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from wan26core import plugin

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = ["HEADERS", "FalWebhookSigner", "signed_message", "verify_webhook"]

REQUEST_ID = "X-Fal-Webhook-Request-Id"
USER_ID = "X-Fal-Webhook-User-Id"
TIMESTAMP = "X-Fal-Webhook-Timestamp"
SIGNATURE = "X-Fal-Webhook-Signature"
#: the signature headers, in the order of the values they carry
HEADERS = (REQUEST_ID, USER_ID, TIMESTAMP, SIGNATURE)


def signed_message(request_id: str, user_id: str, timestamp: str, body: bytes) -> bytes:
    """The bytes a fal webhook signature covers."""
    return "\n".join([request_id, user_id, timestamp, hashlib.sha256(body).hexdigest()]).encode()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FalWebhookSigner:
    """An ED25519 key (made here unless given), its JWKS and fal's signature headers: the mock's signing side."""

    def __init__(self, key: Ed25519PrivateKey | None = None) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        self._key = key or Ed25519PrivateKey.generate()
        raw = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._x = _b64url(raw)
        # RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order, no whitespace
        canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": self._x}, separators=(",", ":"), sort_keys=True)
        self.kid = _b64url(hashlib.sha256(canonical.encode()).digest())

    def __repr__(self) -> str:
        return f"<FalWebhookSigner kid={self.kid}>"  # never the private key

    def jwks(self) -> dict[str, Any]:
        return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": self._x, "kid": self.kid, "use": "sig", "alg": "EdDSA"}]}

    def sign(self, request_id: str, user_id: str, timestamp: int, body: bytes) -> dict[str, str]:
        stamp = str(timestamp)
        signature = self._key.sign(signed_message(request_id, user_id, stamp, body)).hex()
        return {REQUEST_ID: request_id, USER_ID: user_id, TIMESTAMP: stamp, SIGNATURE: signature}


def verify_webhook(
    headers: Mapping[str, str],
    body: bytes,
    jwks: Mapping[str, Any],
    *,
    tolerance_s: float = 300.0,
    now: float | None = None,
) -> Any:
    """Check a fal webhook's signature against ``jwks`` and return its JSON payload.

    Raises :class:`WebhookVerificationError` naming what failed; the timestamp must be within
    ``tolerance_s`` of ``now`` (replay protection, fal's recommended five minutes).
    """
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        raise plugin.MissingExtraError("verifying webhooks needs the [webhooks] extra: pip install 'wan26[webhooks]'") from None
    lower = {k.lower(): v for k, v in headers.items()}
    missing = [h.lower() for h in HEADERS if not lower.get(h.lower())]
    if missing:
        raise plugin.WebhookVerificationError(f"missing webhook header(s): {', '.join(missing)}")
    request_id, user_id, timestamp, signature = (lower[h.lower()] for h in HEADERS)
    try:
        sent = float(timestamp)
    except ValueError:
        raise plugin.WebhookVerificationError(f"X-Fal-Webhook-Timestamp is not a number: {timestamp!r}") from None
    current = time.time() if now is None else now
    if abs(current - sent) > tolerance_s:
        raise plugin.WebhookVerificationError(f"webhook timestamp is {current - sent:+.0f} s off (tolerance {tolerance_s:g} s)")
    try:
        signature_bytes = bytes.fromhex(signature)
    except ValueError:
        raise plugin.WebhookVerificationError("X-Fal-Webhook-Signature is not hex") from None
    message = signed_message(request_id, user_id, timestamp, body)
    keys = [k for k in jwks.get("keys", []) if isinstance(k, dict) and k.get("kty") == "OKP" and k.get("crv") == "Ed25519"]
    if not keys:
        raise plugin.WebhookVerificationError("the JWKS has no Ed25519 key")
    for key in keys:
        try:
            raw = base64.urlsafe_b64decode(str(key.get("x", "")) + "==")
            Ed25519PublicKey.from_public_bytes(raw).verify(signature_bytes, message)
        except (InvalidSignature, ValueError, binascii.Error):
            continue
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise plugin.WebhookVerificationError("the webhook body is not JSON") from None
    raise plugin.WebhookVerificationError("the webhook signature matches no key of the JWKS")
