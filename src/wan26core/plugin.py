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

from typing import TYPE_CHECKING

from wan26core._lazy import lazy_names as _lazy_names

if TYPE_CHECKING:
    from wan26core._contract import Contract, builtin_contract
    from wan26core._dialect import (
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
    from wan26core._errors import (
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
    from wan26core._hookspecs import hookimpl
    from wan26core._protocol import (
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
    from wan26core._provider import ContractProvider, Provider
    from wan26core._rules.references import get_path
    from wan26core._rules.render import WireRequest, render_body
    from wan26core._rules.request import GenerationRequest, Reference
    from wan26core._runtime import Op, RetryPolicy, send_op

_LAZY: dict[str, str] = {
    # registration
    "hookimpl": "_hookspecs",
    "Provider": "_provider",
    "ContractProvider": "_provider",
    # contracts and rendering
    "Contract": "_contract",
    "builtin_contract": "_contract",
    "GenerationRequest": "_rules.request",
    "Reference": "_rules.request",
    "WireRequest": "_rules.render",
    "render_body": "_rules.render",
    "get_path": "_rules.references",
    # the client side
    "ClientProtocol": "_protocol",
    "ContractClientProtocol": "_protocol",
    "HttpCall": "_protocol",
    "HttpReply": "_protocol",
    "JobRef": "_protocol",
    "JobState": "_protocol",
    "JobStatus": "_protocol",
    "VideoResult": "_protocol",
    "error_for": "_protocol",
    # the effect vocabulary
    "Op": "_runtime",
    "RetryPolicy": "_runtime",
    "send_op": "_runtime",
    # the mock side
    "Dialect": "_dialect",
    "StreamingDialect": "_dialect",
    "WebhookDialect": "_dialect",
    "WebhookSigner": "_dialect",
    "JobSnapshot": "_dialect",
    "MockRequest": "_dialect",
    "MockResponse": "_dialect",
    "MockStream": "_dialect",
    "StorageDialect": "_dialect",
    "UploadStorage": "_dialect",
    "file_chunks": "_dialect",
    "Route": "_dialect",
    "StreamEvent": "_dialect",
    "Video": "_dialect",
    "credential": "_dialect",
    "is_json": "_dialect",
    "json_body": "_dialect",
    "request_id_of": "_dialect",
    "stable_request_id": "_dialect",
    "select_by_model": "_dialect",
    "select_by_path": "_dialect",
    "wire_location": "_dialect",
    "wire_path": "_dialect",
    # errors
    "NativeError": "_errors",
    "Violation": "_errors",
    "Wan26Error": "_errors",
    "ValidationError": "_errors",
    "PluginError": "_errors",
    "ProviderError": "_errors",
    "AuthenticationError": "_errors",
    "PermissionDeniedError": "_errors",
    "RateLimitError": "_errors",
    "JobNotFoundError": "_errors",
    "MalformedResponseError": "_errors",
    "GenerationFailedError": "_errors",
    "ContentPolicyError": "_errors",
    "TransportError": "_errors",
    "MissingExtraError": "_errors",
    "WebhookVerificationError": "_errors",
}


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

__getattr__, __dir__ = _lazy_names(__name__, "wan26core", _LAZY, globals(), __all__)
