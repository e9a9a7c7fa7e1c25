"""wan26core: one typed request for the Wan 2.6 video models, validated and rendered for any provider.

Names are imported on first use (PEP 562), so ``import wan26core`` and the ``wan26`` command start fast: the
client runtime (httpx) is loaded only by code that uses it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wan26core._lazy import lazy_names as _lazy_names

if TYPE_CHECKING:
    from wan26core._client import AsyncClient, AsyncJob, AsyncResult, Client, Job, Result
    from wan26core._contract import Contract, builtin_contract, contract_problems, contract_schema
    from wan26core._errors import (
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
    from wan26core._hookspecs import hookimpl
    from wan26core._journal import JobRecord, Journal, open_journal
    from wan26core._journal_postgres import PostgresJournal
    from wan26core._plugins import Registry, default_registry, get_provider
    from wan26core._pricing import CostEstimate, estimate_cost
    from wan26core._protocol import JobRef, JobStatus, VideoResult
    from wan26core._provider import ContractProvider, Provider
    from wan26core._rules.references import Binding, bind_references, parse_prompt, read_back
    from wan26core._rules.render import WireRequest, render_body
    from wan26core._rules.request import GenerationRequest, Reference
    from wan26core._rules.validation import Report, check, validate
    from wan26core._runtime import RetryPolicy
    from wan26core.webhooks import verify_webhook

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "AsyncClient": "_client",
    "AsyncJob": "_client",
    "AsyncResult": "_client",
    "Client": "_client",
    "Job": "_client",
    "Result": "_client",
    "Contract": "_contract",
    "builtin_contract": "_contract",
    "contract_problems": "_contract",
    "contract_schema": "_contract",
    "AuthenticationError": "_errors",
    "ContentPolicyError": "_errors",
    "DownloadError": "_errors",
    "GenerationFailedError": "_errors",
    "JobCancelledError": "_errors",
    "JobNotFoundError": "_errors",
    "JobTimeoutError": "_errors",
    "MalformedResponseError": "_errors",
    "MissingExtraError": "_errors",
    "NativeError": "_errors",
    "PermissionDeniedError": "_errors",
    "PluginError": "_errors",
    "ProviderError": "_errors",
    "RateLimitError": "_errors",
    "SubmitUncertainError": "_errors",
    "TransportError": "_errors",
    "UnknownProviderError": "_errors",
    "UnsupportedOptionError": "_errors",
    "ValidationError": "_errors",
    "Violation": "_errors",
    "Wan26Error": "_errors",
    "hookimpl": "_hookspecs",
    "JobRecord": "_journal",
    "Journal": "_journal",
    "open_journal": "_journal",
    "PostgresJournal": "_journal_postgres",
    "Registry": "_plugins",
    "default_registry": "_plugins",
    "get_provider": "_plugins",
    "CostEstimate": "_pricing",
    "estimate_cost": "_pricing",
    "JobRef": "_protocol",
    "JobStatus": "_protocol",
    "VideoResult": "_protocol",
    "ContractProvider": "_provider",
    "Provider": "_provider",
    "Binding": "_rules.references",
    "bind_references": "_rules.references",
    "parse_prompt": "_rules.references",
    "read_back": "_rules.references",
    "WireRequest": "_rules.render",
    "render_body": "_rules.render",
    "GenerationRequest": "_rules.request",
    "Reference": "_rules.request",
    "RetryPolicy": "_runtime",
    "Report": "_rules.validation",
    "check": "_rules.validation",
    "validate": "_rules.validation",
    "WebhookVerificationError": "_errors",
    "verify_webhook": "webhooks",
}


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
    "PostgresJournal",
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
    "open_journal",
    "parse_prompt",
    "read_back",
    "render_body",
    "validate",
    "verify_webhook",
]

__getattr__, __dir__ = _lazy_names(__name__, __name__, _LAZY, globals(), __all__)
