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

if TYPE_CHECKING:  # for type checkers; ``import X as X`` marks an explicit re-export (PEP 484)
    from wan26core._contract import Contract as Contract
    from wan26core._contract import builtin_contract as builtin_contract
    from wan26core._dialect import Dialect as Dialect
    from wan26core._dialect import JobSnapshot as JobSnapshot
    from wan26core._dialect import MockRequest as MockRequest
    from wan26core._dialect import MockResponse as MockResponse
    from wan26core._dialect import MockStream as MockStream
    from wan26core._dialect import Route as Route
    from wan26core._dialect import StorageDialect as StorageDialect
    from wan26core._dialect import StreamEvent as StreamEvent
    from wan26core._dialect import StreamingDialect as StreamingDialect
    from wan26core._dialect import UploadStorage as UploadStorage
    from wan26core._dialect import Video as Video
    from wan26core._dialect import WebhookDialect as WebhookDialect
    from wan26core._dialect import WebhookSigner as WebhookSigner
    from wan26core._dialect import credential as credential
    from wan26core._dialect import file_chunks as file_chunks
    from wan26core._dialect import is_json as is_json
    from wan26core._dialect import json_body as json_body
    from wan26core._dialect import request_id_of as request_id_of
    from wan26core._dialect import select_by_model as select_by_model
    from wan26core._dialect import select_by_path as select_by_path
    from wan26core._dialect import stable_request_id as stable_request_id
    from wan26core._dialect import wire_location as wire_location
    from wan26core._dialect import wire_path as wire_path
    from wan26core._errors import AuthenticationError as AuthenticationError
    from wan26core._errors import ContentPolicyError as ContentPolicyError
    from wan26core._errors import GenerationFailedError as GenerationFailedError
    from wan26core._errors import JobNotFoundError as JobNotFoundError
    from wan26core._errors import MalformedResponseError as MalformedResponseError
    from wan26core._errors import MissingExtraError as MissingExtraError
    from wan26core._errors import NativeError as NativeError
    from wan26core._errors import PermissionDeniedError as PermissionDeniedError
    from wan26core._errors import PluginError as PluginError
    from wan26core._errors import ProviderError as ProviderError
    from wan26core._errors import RateLimitError as RateLimitError
    from wan26core._errors import TransportError as TransportError
    from wan26core._errors import ValidationError as ValidationError
    from wan26core._errors import Violation as Violation
    from wan26core._errors import Wan26Error as Wan26Error
    from wan26core._errors import WebhookVerificationError as WebhookVerificationError
    from wan26core._hookspecs import hookimpl as hookimpl
    from wan26core._protocol import ClientProtocol as ClientProtocol
    from wan26core._protocol import ContractClientProtocol as ContractClientProtocol
    from wan26core._protocol import HttpCall as HttpCall
    from wan26core._protocol import HttpReply as HttpReply
    from wan26core._protocol import JobRef as JobRef
    from wan26core._protocol import JobState as JobState
    from wan26core._protocol import JobStatus as JobStatus
    from wan26core._protocol import VideoResult as VideoResult
    from wan26core._protocol import error_for as error_for
    from wan26core._provider import ContractProvider as ContractProvider
    from wan26core._provider import Provider as Provider
    from wan26core._rules.references import get_path as get_path
    from wan26core._rules.render import WireRequest as WireRequest
    from wan26core._rules.render import render_body as render_body
    from wan26core._rules.request import GenerationRequest as GenerationRequest
    from wan26core._rules.request import Reference as Reference
    from wan26core._runtime import Op as Op
    from wan26core._runtime import RetryPolicy as RetryPolicy
    from wan26core._runtime import send_op as send_op

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


#: the plugin API: exactly the lazily imported names
__all__ = [*_LAZY]

__getattr__, __dir__ = _lazy_names(__name__, "wan26core", _LAZY, globals(), __all__)
