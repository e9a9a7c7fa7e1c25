"""Verifying a provider's signed webhooks, through the plugin that knows how it signs them.

The core knows no signing scheme: a provider whose client protocol has a ``verify_webhook`` method
(:class:`WebhookVerifier`; today ``wan26_fal``'s) verifies its own webhooks, and its contracts name the JWKS it
publishes (``transport.webhook.jwks_url``). :func:`verify_webhook` and :func:`fetch_jwks` find that plugin in the
installed ones; name it with ``provider=`` when several can verify. Needs the ``[webhooks]`` extra
(``cryptography``).

>>> jwks = fetch_jwks()                                             # doctest: +SKIP
>>> payload = verify_webhook(request.headers, await request.body(), jwks)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import httpx

from wan26core._errors import PluginError, WebhookVerificationError
from wan26core._plugins import default_registry
from wan26core._provider import Provider

__all__ = ["WebhookVerificationError", "WebhookVerifier", "fetch_jwks", "verify_webhook"]


@runtime_checkable
class WebhookVerifier(Protocol):
    """Optional capability of a client protocol: check a webhook's signature and return its JSON payload."""

    def verify_webhook(
        self, headers: Mapping[str, str], body: bytes, jwks: Mapping[str, Any], *, tolerance_s: float, now: float | None
    ) -> Any: ...


def _verifying(provider: str | None) -> Provider:
    """The registered endpoint whose protocol verifies webhooks (of provider ``provider``, when named)."""
    families: dict[str, Provider] = {}
    for provider_id, endpoint in default_registry().providers().items():
        family = provider_id.split("/")[0]
        if isinstance(endpoint.protocol, WebhookVerifier) and provider in (None, family, provider_id):
            families.setdefault(family, endpoint)
    if len(families) == 1:
        return next(iter(families.values()))
    if not families:
        raise PluginError(f"no installed provider verifies webhooks{f' for {provider!r}' if provider else ''}")
    raise PluginError(f"several providers verify webhooks ({', '.join(sorted(families))}): name one with provider=")


def verify_webhook(
    headers: Mapping[str, str],
    body: bytes,
    jwks: Mapping[str, Any],
    *,
    provider: str | None = None,
    tolerance_s: float = 300.0,
    now: float | None = None,
) -> Any:
    """Check a webhook's signature against ``jwks`` and return its JSON payload.

    Raises :class:`WebhookVerificationError` naming what failed; the timestamp must be within ``tolerance_s`` of
    ``now`` (replay protection, five minutes by default). ``provider``: whose webhook it is (needed only when
    several installed providers verify webhooks).
    """
    protocol = _verifying(provider).protocol
    assert isinstance(protocol, WebhookVerifier)
    return protocol.verify_webhook(headers, body, jwks, tolerance_s=tolerance_s, now=now)


def fetch_jwks(
    url: str | None = None, *, provider: str | None = None, client: httpx.Client | None = None, timeout: float = 10.0
) -> dict[str, Any]:
    """Download a JWKS: ``url``, else the one the verifying provider's contract names (the mock serves its own at
    the same path)."""
    if url is None:
        hook = _verifying(provider).contract.transport.get("webhook") or {}
        if not isinstance(hook.get("jwks_url"), str):
            raise PluginError("the provider's contract names no JWKS (transport.webhook.jwks_url): pass url=")
        url = str(hook["jwks_url"])
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
