"""wan26core: one typed request for the Wan 2.6 and 2.7 video models, validated and rendered for any provider.

Names are imported on first use (PEP 562), so ``import wan26core`` and the ``wan26`` command start fast: the
client runtime (httpx) is loaded only by code that uses it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wan26core._lazy import lazy_names as _lazy_names

if TYPE_CHECKING:  # for type checkers; ``import X as X`` marks an explicit re-export (PEP 484)
    from wan26core._client import AsyncClient as AsyncClient
    from wan26core._client import AsyncJob as AsyncJob
    from wan26core._client import AsyncResult as AsyncResult
    from wan26core._client import Client as Client
    from wan26core._client import Job as Job
    from wan26core._client import Result as Result
    from wan26core._contract import Contract as Contract
    from wan26core._contract import builtin_contract as builtin_contract
    from wan26core._contract import contract_problems as contract_problems
    from wan26core._contract import contract_schema as contract_schema
    from wan26core._errors import AuthenticationError as AuthenticationError
    from wan26core._errors import ContentPolicyError as ContentPolicyError
    from wan26core._errors import DownloadError as DownloadError
    from wan26core._errors import GenerationFailedError as GenerationFailedError
    from wan26core._errors import JobCancelledError as JobCancelledError
    from wan26core._errors import JobNotFoundError as JobNotFoundError
    from wan26core._errors import JobTimeoutError as JobTimeoutError
    from wan26core._errors import MalformedResponseError as MalformedResponseError
    from wan26core._errors import MissingExtraError as MissingExtraError
    from wan26core._errors import NativeError as NativeError
    from wan26core._errors import PermissionDeniedError as PermissionDeniedError
    from wan26core._errors import PluginError as PluginError
    from wan26core._errors import ProviderError as ProviderError
    from wan26core._errors import RateLimitError as RateLimitError
    from wan26core._errors import SubmitUncertainError as SubmitUncertainError
    from wan26core._errors import TransportError as TransportError
    from wan26core._errors import UnknownProviderError as UnknownProviderError
    from wan26core._errors import UnsupportedOptionError as UnsupportedOptionError
    from wan26core._errors import ValidationError as ValidationError
    from wan26core._errors import Violation as Violation
    from wan26core._errors import Wan26Error as Wan26Error
    from wan26core._errors import WebhookVerificationError as WebhookVerificationError
    from wan26core._hookspecs import hookimpl as hookimpl
    from wan26core._journal import JobRecord as JobRecord
    from wan26core._journal import Journal as Journal
    from wan26core._journal import open_journal as open_journal
    from wan26core._journal_postgres import PostgresJournal as PostgresJournal
    from wan26core._plugins import Registry as Registry
    from wan26core._plugins import default_registry as default_registry
    from wan26core._plugins import get_provider as get_provider
    from wan26core._pricing import CostEstimate as CostEstimate
    from wan26core._pricing import estimate_cost as estimate_cost
    from wan26core._protocol import JobRef as JobRef
    from wan26core._protocol import JobStatus as JobStatus
    from wan26core._protocol import VideoResult as VideoResult
    from wan26core._provider import ContractProvider as ContractProvider
    from wan26core._provider import Provider as Provider
    from wan26core._rules.references import Binding as Binding
    from wan26core._rules.references import bind_references as bind_references
    from wan26core._rules.references import parse_prompt as parse_prompt
    from wan26core._rules.references import read_back as read_back
    from wan26core._rules.render import WireRequest as WireRequest
    from wan26core._rules.render import render_body as render_body
    from wan26core._rules.request import GenerationRequest as GenerationRequest
    from wan26core._rules.request import Reference as Reference
    from wan26core._rules.validation import Report as Report
    from wan26core._rules.validation import check as check
    from wan26core._rules.validation import validate as validate
    from wan26core._runtime import RetryPolicy as RetryPolicy
    from wan26core.webhooks import verify_webhook as verify_webhook

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


#: the public names: every lazily imported one, and the version
__all__ = ["__version__", *_LAZY]

__getattr__, __dir__ = _lazy_names(__name__, __name__, _LAZY, globals(), __all__)
