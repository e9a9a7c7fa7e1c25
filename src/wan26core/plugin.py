"""The plugin API: everything a provider plugin may import from the core, and nothing else.

A provider package (the built-in ``wan26_fal``, ``wan26_aimlapi``, ``wan26_vtrix``, ``wan26_dashscope`` and any
third-party one, such as ``examples/wan26-wavespeed``) imports from this module only; every other core module is
an internal that may change without notice. ``tests/test_plugin_api.py`` pins the names below and fails when a
provider package imports anything else from ``wan26core``.

The names fall into six groups (see docs/writing-a-provider-plugin.md):

- registration: :data:`hookimpl`, :class:`Provider`, :class:`ContractProvider`;
- contracts and rendering: :class:`Contract`, :func:`builtin_contract`, :class:`GenerationRequest`,
  :class:`Reference`, :class:`WireRequest`, :func:`render_body`, :func:`get_path`;
- the client side (sans-IO): :class:`ClientProtocol`, :class:`ContractClientProtocol` and the HTTP value types
  it speaks, :func:`error_for`;
- the effect vocabulary an upload step yields: :data:`Op`, :func:`send_op`, :class:`RetryPolicy`;
- the mock side (pure dialects): :class:`Dialect` and its optional capabilities, the request/response types and
  the helpers shared by dialects;
- the error classes.

Names are imported on first use (PEP 562), like ``wan26core``'s: a plugin that imports this module does not
load the HTTP runtime until a job runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .contract import Contract, builtin_contract
    from .dialect import (
        Dialect,
        JobSnapshot,
        MockRequest,
        MockResponse,
        MockStream,
        Route,
        StorageDialect,
        StreamEvent,
        StreamingDialect,
        UploadStorage,
        Video,
        WebhookDialect,
        WebhookSigner,
        credential,
        file_chunks,
        is_json,
        json_body,
        request_id_of,
        select_by_model,
        select_by_path,
        stable_request_id,
        wire_location,
        wire_path,
    )
    from .errors import (
        AuthenticationError,
        ContentPolicyError,
        GenerationFailedError,
        JobNotFoundError,
        MalformedResponseError,
        MissingExtraError,
        NativeError,
        PermissionDeniedError,
        PluginError,
        ProviderError,
        RateLimitError,
        TransportError,
        ValidationError,
        Violation,
        Wan26Error,
        WebhookVerificationError,
    )
    from .hookspecs import hookimpl
    from .protocol import (
        ClientProtocol,
        ContractClientProtocol,
        HttpCall,
        HttpReply,
        JobRef,
        JobState,
        JobStatus,
        VideoResult,
        error_for,
    )
    from .provider import ContractProvider, Provider
    from .references import get_path
    from .render import WireRequest, render_body
    from .request import GenerationRequest, Reference
    from .runtime import Op, RetryPolicy, send_op

_LAZY: dict[str, str] = {
    # registration
    "hookimpl": "hookspecs",
    "Provider": "provider",
    "ContractProvider": "provider",
    # contracts and rendering
    "Contract": "contract",
    "builtin_contract": "contract",
    "GenerationRequest": "request",
    "Reference": "request",
    "WireRequest": "render",
    "render_body": "render",
    "get_path": "references",
    # the client side
    "ClientProtocol": "protocol",
    "ContractClientProtocol": "protocol",
    "HttpCall": "protocol",
    "HttpReply": "protocol",
    "JobRef": "protocol",
    "JobState": "protocol",
    "JobStatus": "protocol",
    "VideoResult": "protocol",
    "error_for": "protocol",
    # the effect vocabulary
    "Op": "runtime",
    "RetryPolicy": "runtime",
    "send_op": "runtime",
    # the mock side
    "Dialect": "dialect",
    "StreamingDialect": "dialect",
    "WebhookDialect": "dialect",
    "WebhookSigner": "dialect",
    "JobSnapshot": "dialect",
    "MockRequest": "dialect",
    "MockResponse": "dialect",
    "MockStream": "dialect",
    "StorageDialect": "dialect",
    "UploadStorage": "dialect",
    "file_chunks": "dialect",
    "Route": "dialect",
    "StreamEvent": "dialect",
    "Video": "dialect",
    "credential": "dialect",
    "is_json": "dialect",
    "json_body": "dialect",
    "request_id_of": "dialect",
    "stable_request_id": "dialect",
    "select_by_model": "dialect",
    "select_by_path": "dialect",
    "wire_location": "dialect",
    "wire_path": "dialect",
    # errors
    "NativeError": "errors",
    "Violation": "errors",
    "Wan26Error": "errors",
    "ValidationError": "errors",
    "PluginError": "errors",
    "ProviderError": "errors",
    "AuthenticationError": "errors",
    "PermissionDeniedError": "errors",
    "RateLimitError": "errors",
    "JobNotFoundError": "errors",
    "MalformedResponseError": "errors",
    "GenerationFailedError": "errors",
    "ContentPolicyError": "errors",
    "TransportError": "errors",
    "MissingExtraError": "errors",
    "WebhookVerificationError": "errors",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wan26core.plugin' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"wan26core.{module}"), name)
    globals()[name] = value  # the next access is a plain global
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "AuthenticationError",
    "ClientProtocol",
    "ContentPolicyError",
    "Contract",
    "ContractClientProtocol",
    "ContractProvider",
    "Dialect",
    "GenerationFailedError",
    "GenerationRequest",
    "HttpCall",
    "HttpReply",
    "JobNotFoundError",
    "JobRef",
    "JobSnapshot",
    "JobState",
    "JobStatus",
    "MalformedResponseError",
    "MissingExtraError",
    "MockRequest",
    "MockResponse",
    "MockStream",
    "NativeError",
    "Op",
    "PermissionDeniedError",
    "PluginError",
    "Provider",
    "ProviderError",
    "RateLimitError",
    "Reference",
    "RetryPolicy",
    "Route",
    "StorageDialect",
    "StreamEvent",
    "StreamingDialect",
    "TransportError",
    "UploadStorage",
    "ValidationError",
    "Video",
    "VideoResult",
    "Violation",
    "Wan26Error",
    "WebhookDialect",
    "WebhookSigner",
    "WebhookVerificationError",
    "WireRequest",
    "builtin_contract",
    "credential",
    "error_for",
    "file_chunks",
    "get_path",
    "hookimpl",
    "is_json",
    "json_body",
    "render_body",
    "request_id_of",
    "select_by_model",
    "select_by_path",
    "send_op",
    "stable_request_id",
    "wire_location",
    "wire_path",
]
