"""The environment a test runs in while it uses a wan26 mock: which variables are set, which removed.

- Every provider's API-key variables hold a dummy key, **always**, even when a real key is exported: the mock
  accepts any key, and code that escaped the mock (a client that ignores the base-URL variables, a host the
  routes do not know) then meets the real provider with a key it refuses instead of spending the developer's
  credit. A test of "no key set" removes the variable itself (``monkeypatch.delenv``).
- ``WAN26_HOME`` is a fresh temporary folder, so mock jobs never enter the developer's journal of real jobs.
- Live server: the base-URL variables of wan26 (``WAN26_<PROVIDER>_BASE_URL``) and of the official clients
  (``FAL_QUEUE_RUN_HOST``, ``DASHSCOPE_HTTP_BASE_URL``, ``AIML_API_BASE``…, from the contracts) point at it,
  with ``SSL_CERT_FILE``/``REQUESTS_CA_BUNDLE``/``NODE_EXTRA_CA_CERTS`` trusting its CA under TLS, and loopback
  added to ``NO_PROXY`` when a proxy is configured.
- In-process routes: the base-URL variables are removed, so clients use the providers' real hosts, which the
  routes answer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wan26core._contract import Contract

__all__ = ["DUMMY_KEY", "base_url_variables", "key_variables", "live_environment", "routes_environment"]

DUMMY_KEY = "mock-key"
_PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")

Contracts = Mapping[str, Mapping[str, "Contract"]]  # provider name -> provider/model id -> contract


def key_variables(contracts: Contracts) -> list[str]:
    """Every API-key variable any served provider reads."""
    names: dict[str, None] = {}
    for by_id in contracts.values():
        for contract in by_id.values():
            names.update(dict.fromkeys(contract.transport["auth"]["env"]))
    return list(names)


def base_url_variables(contracts: Contracts) -> list[str]:
    """Every variable that moves a served provider's base URL (wan26's and the official clients')."""
    names: dict[str, None] = {}
    for provider, by_id in contracts.items():
        names[f"WAN26_{provider.upper()}_BASE_URL"] = None
        for contract in by_id.values():
            names.update(dict.fromkeys(contract.transport.get("base_url_env", {})))
    return list(names)


def live_environment(
    settings: Mapping[str, str], contracts: Contracts, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """What to set for a live mock whose client settings are ``settings`` (``MockServer.env()``)."""
    env = os.environ if environ is None else environ
    out = dict(settings)
    out.update({name: DUMMY_KEY for name in key_variables(contracts)})  # every key name, not only the first
    if any(env.get(name) for name in _PROXIES):
        for name in ("NO_PROXY", "no_proxy"):
            present = [h.strip() for h in env.get(name, "").split(",") if h.strip()]
            out[name] = ",".join(dict.fromkeys([*present, *_LOOPBACK]))
    return out


def routes_environment(contracts: Contracts) -> tuple[dict[str, str], list[str]]:
    """For in-process routes: (variables to set, variables to remove)."""
    return {name: DUMMY_KEY for name in key_variables(contracts)}, base_url_variables(contracts)
