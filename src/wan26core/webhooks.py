"""Verifying fal's webhook signatures (ED25519 over the request id, user id, timestamp and body hash).

fal signs ``{request_id}\\n{user_id}\\n{timestamp}\\n{hex sha256 of the raw body}`` and sends the hex
signature in ``X-Fal-Webhook-Signature``; its public keys are a JWKS at
``https://rest.alpha.fal.ai/.well-known/jwks.json`` (fal docs, "Verifying your webhook"; the fal
contracts' ``transport.webhook``). Needs the ``[webhooks]`` extra (``cryptography``).

>>> jwks = fetch_jwks()                                             # doctest: +SKIP
>>> payload = verify_webhook(request.headers, await request.body(), jwks)  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections.abc import Mapping
from typing import Any

import httpx

from .errors import MissingExtraError, Wan26Error

__all__ = ["FAL_JWKS_URL", "WebhookVerificationError", "fetch_jwks", "verify_webhook"]

FAL_JWKS_URL = "https://rest.alpha.fal.ai/.well-known/jwks.json"
HEADERS = ("x-fal-webhook-request-id", "x-fal-webhook-user-id", "x-fal-webhook-timestamp", "x-fal-webhook-signature")


class WebhookVerificationError(Wan26Error):
    """The webhook is not provably from the provider: missing headers, stale timestamp or a bad signature."""


def fetch_jwks(url: str = FAL_JWKS_URL, *, client: httpx.Client | None = None, timeout: float = 10.0) -> dict[str, Any]:
    """Download a JWKS (fal's by default; the mock serves its own at ``/.well-known/jwks.json``)."""
    http = client or httpx.Client(timeout=timeout)
    try:
        response = http.get(url)
        response.raise_for_status()
        jwks = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise WebhookVerificationError(f"cannot read the JWKS at {url}: {exc}") from None
    finally:
        if client is None:
            http.close()
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise WebhookVerificationError(f"{url} is not a JWKS (no 'keys' list)")
    return jwks


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
        raise MissingExtraError("verifying webhooks needs the [webhooks] extra: pip install 'wan26[webhooks]'") from None
    lower = {k.lower(): v for k, v in headers.items()}
    missing = [h for h in HEADERS if not lower.get(h)]
    if missing:
        raise WebhookVerificationError(f"missing webhook header(s): {', '.join(missing)}")
    request_id, user_id, timestamp, signature = (lower[h] for h in HEADERS)
    try:
        sent = float(timestamp)
    except ValueError:
        raise WebhookVerificationError(f"X-Fal-Webhook-Timestamp is not a number: {timestamp!r}") from None
    current = time.time() if now is None else now
    if abs(current - sent) > tolerance_s:
        raise WebhookVerificationError(f"webhook timestamp is {current - sent:+.0f} s off (tolerance {tolerance_s:g} s)")
    try:
        signature_bytes = bytes.fromhex(signature)
    except ValueError:
        raise WebhookVerificationError("X-Fal-Webhook-Signature is not hex") from None
    message = "\n".join([request_id, user_id, timestamp, hashlib.sha256(body).hexdigest()]).encode()
    keys = [k for k in jwks.get("keys", []) if isinstance(k, dict) and k.get("kty") == "OKP" and k.get("crv") == "Ed25519"]
    if not keys:
        raise WebhookVerificationError("the JWKS has no Ed25519 key")
    for key in keys:
        try:
            raw = base64.urlsafe_b64decode(str(key.get("x", "")) + "==")
            Ed25519PublicKey.from_public_bytes(raw).verify(signature_bytes, message)
        except (InvalidSignature, ValueError, binascii.Error):
            continue
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise WebhookVerificationError("the webhook body is not JSON") from None
    raise WebhookVerificationError("the webhook signature matches no key of the JWKS")
