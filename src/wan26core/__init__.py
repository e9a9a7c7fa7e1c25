"""wan26core: one typed request for the Wan 2.6 video models, validated and rendered for any provider.

Names are imported on first use (PEP 562), so ``import wan26core`` and the ``wan26`` command start fast: the
client runtime (httpx) is loaded only by code that uses it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .client import AsyncClient, AsyncJob, AsyncResult, Client, Job, Result
    from .contract import Contract, builtin_contract, contract_problems, contract_schema
    from .errors import (
        AuthenticationError,
        ContentPolicyError,
        DownloadError,
        GenerationFailedError,
        JobCancelledError,
        JobNotFoundError,
        JobTimeoutError,
        MalformedResponseError,
        MissingExtraError,
        NativeError,
        PermissionDeniedError,
        PluginError,
        ProviderError,
        RateLimitError,
        SubmitUncertainError,
        TransportError,
        UnknownProviderError,
        UnsupportedOptionError,
        ValidationError,
        Violation,
        Wan26Error,
        WebhookVerificationError,
    )
    from .hookspecs import hookimpl
    from .journal import JobRecord, Journal
    from .plugins import Registry, default_registry, get_provider
    from .pricing import CostEstimate, estimate_cost
    from .protocol import JobRef, JobStatus, VideoResult
    from .provider import ContractProvider, Provider
    from .references import Binding, bind_references, parse_prompt, read_back
    from .render import WireRequest, render_body
    from .request import GenerationRequest, Reference
    from .runtime import RetryPolicy
    from .validation import Report, check, validate
    from .webhooks import verify_webhook

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "AsyncClient": "client",
    "AsyncJob": "client",
    "AsyncResult": "client",
    "Client": "client",
    "Job": "client",
    "Result": "client",
    "Contract": "contract",
    "builtin_contract": "contract",
    "contract_problems": "contract",
    "contract_schema": "contract",
    "AuthenticationError": "errors",
    "ContentPolicyError": "errors",
    "DownloadError": "errors",
    "GenerationFailedError": "errors",
    "JobCancelledError": "errors",
    "JobNotFoundError": "errors",
    "JobTimeoutError": "errors",
    "MalformedResponseError": "errors",
    "MissingExtraError": "errors",
    "NativeError": "errors",
    "PermissionDeniedError": "errors",
    "PluginError": "errors",
    "ProviderError": "errors",
    "RateLimitError": "errors",
    "SubmitUncertainError": "errors",
    "TransportError": "errors",
    "UnknownProviderError": "errors",
    "UnsupportedOptionError": "errors",
    "ValidationError": "errors",
    "Violation": "errors",
    "Wan26Error": "errors",
    "hookimpl": "hookspecs",
    "JobRecord": "journal",
    "Journal": "journal",
    "Registry": "plugins",
    "default_registry": "plugins",
    "get_provider": "plugins",
    "CostEstimate": "pricing",
    "estimate_cost": "pricing",
    "JobRef": "protocol",
    "JobStatus": "protocol",
    "VideoResult": "protocol",
    "ContractProvider": "provider",
    "Provider": "provider",
    "Binding": "references",
    "bind_references": "references",
    "parse_prompt": "references",
    "read_back": "references",
    "WireRequest": "render",
    "render_body": "render",
    "GenerationRequest": "request",
    "Reference": "request",
    "RetryPolicy": "runtime",
    "Report": "validation",
    "check": "validation",
    "validate": "validation",
    "WebhookVerificationError": "errors",
    "verify_webhook": "webhooks",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wan26core' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # the next access is a plain global
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "AsyncClient",
    "AsyncJob",
    "AsyncResult",
    "AuthenticationError",
    "Binding",
    "Client",
    "ContentPolicyError",
    "Contract",
    "ContractProvider",
    "CostEstimate",
    "DownloadError",
    "GenerationFailedError",
    "GenerationRequest",
    "Job",
    "JobCancelledError",
    "JobNotFoundError",
    "JobRecord",
    "JobRef",
    "JobStatus",
    "JobTimeoutError",
    "Journal",
    "MalformedResponseError",
    "MissingExtraError",
    "NativeError",
    "PermissionDeniedError",
    "PluginError",
    "Provider",
    "ProviderError",
    "RateLimitError",
    "Reference",
    "Registry",
    "Report",
    "Result",
    "RetryPolicy",
    "SubmitUncertainError",
    "TransportError",
    "UnknownProviderError",
    "UnsupportedOptionError",
    "ValidationError",
    "VideoResult",
    "Violation",
    "Wan26Error",
    "WebhookVerificationError",
    "WireRequest",
    "__version__",
    "bind_references",
    "builtin_contract",
    "check",
    "contract_problems",
    "contract_schema",
    "default_registry",
    "estimate_cost",
    "get_provider",
    "hookimpl",
    "parse_prompt",
    "read_back",
    "render_body",
    "validate",
    "verify_webhook",
]
