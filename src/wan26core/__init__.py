"""wan26core: one typed request for the Wan 2.6 video models, validated and rendered for any provider."""

from __future__ import annotations

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
from .webhooks import WebhookVerificationError, verify_webhook

__version__ = "0.1.0"

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
