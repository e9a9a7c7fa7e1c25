"""wan26core: one typed request for the Wan 2.6 video models, validated and rendered for any provider."""

from __future__ import annotations

from .contract import Contract, builtin_contract, contract_problems, contract_schema
from .errors import (
    AuthenticationError,
    ContentPolicyError,
    GenerationFailedError,
    JobCancelledError,
    JobTimeoutError,
    MissingExtraError,
    NativeError,
    PermissionDeniedError,
    PluginError,
    ProviderError,
    RateLimitError,
    UnknownProviderError,
    UnsupportedOptionError,
    ValidationError,
    Violation,
    Wan26Error,
)
from .hookspecs import hookimpl
from .plugins import Registry, default_registry, get_provider
from .pricing import CostEstimate, estimate_cost
from .provider import ContractProvider, Provider
from .references import Binding, bind_references, parse_prompt, read_back
from .render import WireRequest, render_body
from .request import GenerationRequest, Reference
from .validation import Report, check, validate

__version__ = "0.1.0"

__all__ = [
    "AuthenticationError",
    "Binding",
    "ContentPolicyError",
    "Contract",
    "ContractProvider",
    "CostEstimate",
    "GenerationFailedError",
    "GenerationRequest",
    "JobCancelledError",
    "JobTimeoutError",
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
    "UnknownProviderError",
    "UnsupportedOptionError",
    "ValidationError",
    "Violation",
    "Wan26Error",
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
]
