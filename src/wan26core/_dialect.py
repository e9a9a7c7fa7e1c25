"""Dialects: a provider's wire protocol as seen from the server side, for the mock server.

A dialect is pure: it turns HTTP requests and job snapshots into status, headers and body, and knows
nothing of sockets, clocks or storage (the mock engine owns those). Provider plugins expose one as
``provider.dialect`` so a third-party plugin brings a mock of its provider along with its client.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from wan26core._contract import Contract
from wan26core._errors import NativeError, Violation
from wan26core._rules.request import MEDIA_SLOTS, GenerationRequest
from wan26core._rules.validation import OPTION_FIELDS

__all__ = [
    "Dialect",
    "JobSnapshot",
    "MockRequest",
    "MockResponse",
    "MockStream",
    "Route",
    "StorageDialect",
    "StreamEvent",
    "StreamingDialect",
    "UploadStorage",
    "Video",
    "WebhookDialect",
    "WebhookSigner",
    "credential",
    "file_chunks",
    "is_json",
    "json_body",
    "request_id_of",
    "select_by_model",
    "select_by_path",
    "stable_request_id",
    "wire_location",
    "wire_path",
]

Action = Literal["submit", "status", "stream", "result", "cancel"]
State = Literal["queued", "running", "succeeded", "failed", "cancelled"]


@dataclass(frozen=True)
class MockRequest:
    """An incoming request, already read: lower-case header names, decoded query, raw body."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    base_url: str  # scheme://host[:port] the client used, for URLs in responses
    params: Mapping[str, str] = field(default_factory=dict)  # path parameters, e.g. {"task_id": …}
    now: float = 0.0  # the mock's virtual time (unix seconds), for timestamps in responses
    #: a fresh id the engine drew for this request (UUID-shaped; reproducible under a seed); "" when none was
    request_id: str = ""


@dataclass(frozen=True)
class MockResponse:
    """What to answer: a JSON-able ``body`` (or bytes/str sent as they are) with status and headers."""

    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    """One HTTP route a dialect serves; ``path`` uses ``{name}`` parameters."""

    method: str
    path: str
    action: Action


@dataclass(frozen=True)
class MockStream(MockResponse):
    """A response sent in pieces: ``body`` is an ``AsyncIterator[bytes]`` (a download, a status stream)."""

    def chunks(self) -> AsyncIterator[bytes]:
        body: AsyncIterator[bytes] = self.body
        return body


async def file_chunks(path: Path, size: int = 256 * 1024) -> AsyncIterator[bytes]:
    """A file's bytes, read off the event loop (the body of a :class:`MockStream` that downloads a file)."""
    import anyio

    handle = await anyio.open_file(path, "rb")
    async with handle:
        while chunk := await handle.read(size):
            yield chunk


@dataclass(frozen=True)
class StreamEvent:
    """One encoded server-sent event (``data: …\\n\\n``); ``final`` closes the stream once it is sent. Empty
    ``data``: nothing new to send (a dialect whose events carry only what changed, see ``stream_event``)."""

    data: bytes
    final: bool = False


@dataclass(frozen=True)
class Video:
    """A generated output as served by the mock, with the facts of the real file."""

    url: str
    width: int
    height: int
    fps: float
    duration: float
    num_frames: int
    file_size: int
    has_audio: bool
    content_type: str = "video/mp4"
    file_name: str = "output.mp4"


@dataclass(frozen=True)
class JobSnapshot:
    """A job as the engine sees it at one instant of the virtual clock."""

    id: str
    provider: str  # provider/model id
    state: State
    created_at: float  # unix seconds
    request: GenerationRequest
    wire: Mapping[str, Any]
    queue_position: int = 0
    progress: float = 0.0
    logs: tuple[str, ...] = ()
    started_at: float | None = None
    finished_at: float | None = None
    error: NativeError | None = None
    video: Video | None = None
    seed: int = 0
    cost_usd: float | None = None
    #: when each line of ``logs`` was written (unix seconds, virtual clock); may be shorter than ``logs``
    log_times: tuple[float, ...] = ()


@runtime_checkable
class Dialect(Protocol):
    """Server-side wire protocol of one provider (all its models)."""

    @property
    def provider(self) -> str:
        """The provider part of the ids it serves, e.g. ``fal``."""
        ...

    # Optional: ``cacheable = True`` promises that status/result answers depend only on the request's method,
    # path, query and base URL, on its ``request_id`` (written as it is, if at all) and on the job snapshot, so the
    # engine may reuse one until the job changes (putting each request's own id in). Dialects without it are
    # rendered on every poll.
    # Optional: ``request_ids = True`` asks the engine for a fresh ``MockRequest.request_id`` on every request
    # (without it the field is empty and :func:`request_id_of` falls back to :func:`stable_request_id`).
    # Optional: ``https_only_clients = ("fal_client",)`` names (import names) the provider's official clients that
    # speak only https; when one is installed, the pytest plugin serves the mock over TLS by default.
    # Optional: ``trailing_slash = True`` says the provider answers a route's path with a trailing slash as well
    # (an official client relies on it); without it such a path is not found.

    def routes(self) -> list[Route]:
        """Every route, with paths relative to the server root."""
        ...

    def authenticate(self, request: MockRequest) -> MockResponse | None:
        """``None`` when the credentials have the right form, else the provider's own 401."""
        ...

    def select(self, request: MockRequest, contracts: Mapping[str, Contract]) -> str | MockResponse:
        """Which provider/model a submit is for (by path or body), or the provider's error."""
        ...

    def invalid(self, request: MockRequest, contract: Contract, violations: list[Violation]) -> MockResponse:
        """The provider's answer to a body it refuses (``violations`` carry the native errors)."""
        ...

    def submitted(self, request: MockRequest, job: JobSnapshot) -> MockResponse: ...

    def status(self, request: MockRequest, job: JobSnapshot) -> MockResponse: ...

    def result(self, request: MockRequest, job: JobSnapshot) -> MockResponse: ...

    def cancel(self, request: MockRequest, job: JobSnapshot, accepted: bool) -> MockResponse:
        """``accepted`` is False when the job can no longer be cancelled."""
        ...

    def not_found(self, request: MockRequest, job_id: str) -> MockResponse: ...

    def error(self, request: MockRequest, native: NativeError) -> MockResponse:
        """An injected fault or a failure, in the provider's own error shape."""
        ...

    def job_id(self, request: MockRequest) -> str | None:
        """The job id a status/result/cancel request names (path parameter or query)."""
        ...


@runtime_checkable
class StreamingDialect(Protocol):
    """Optional: a dialect whose ``stream`` routes push status events (SSE). The engine owns the waiting;
    the dialect only encodes what to send for one snapshot. Probe with ``isinstance`` or ``getattr``."""

    def stream_open(self, request: MockRequest, job: JobSnapshot) -> MockResponse:
        """Status and headers that open the stream (the body is ignored)."""
        ...

    def stream_event(self, request: MockRequest, job: JobSnapshot, previous: JobSnapshot | None = None) -> StreamEvent:
        """The event reporting ``job``; the engine sends it only when its bytes differ from the last one sent.

        ``previous``: the snapshot behind the last event sent on this stream (None before the first), given only
        to a dialect whose ``stream_event`` takes that parameter: its events may then carry only what is new
        (fal sends only the log lines written since the previous event), and empty ``data`` when nothing is."""
        ...

    def stream_keepalive(self, request: MockRequest) -> bytes:
        """What to send while nothing changes (an SSE comment line, for one)."""
        ...


class WebhookSigner(Protocol):
    """Signs a provider's webhooks the way the provider does, with a key it publishes as a JWKS."""

    def jwks(self) -> dict[str, Any]:
        """The public keys, served at the path of the contract's ``transport.webhook.jwks_url``."""
        ...

    def sign(self, request_id: str, user_id: str, timestamp: int, body: bytes) -> dict[str, str]:
        """The headers that sign ``body`` (``timestamp``: unix seconds, wall clock)."""
        ...


class UploadStorage(Protocol):
    """A provider's file-upload API, served by the mock (files kept on disk, at most ``cap_bytes`` in all)."""

    def handles(self, path: str) -> bool:
        """Whether ``path`` is one of its routes (it is asked only about paths no dialect route matches)."""
        ...

    async def handle(self, request: MockRequest, authenticate: Callable[[MockRequest], MockResponse | None]) -> MockResponse:
        """The answer to one storage request; ``authenticate`` is the dialect's check of the provider key."""
        ...

    def used_bytes(self) -> int: ...

    def clear(self) -> None:
        """Forget every file (the admin reset)."""
        ...


@runtime_checkable
class StorageDialect(Protocol):
    """Optional: a dialect whose provider takes file uploads (the engine routes them to its storage)."""

    def upload_storage(self, *, cap_bytes: int) -> UploadStorage:
        """A new, empty storage (one per mock engine)."""
        ...


@runtime_checkable
class WebhookDialect(Protocol):
    """Optional: a dialect that notifies a URL given at submit when a job ends (the engine delivers, the dialect's
    signer signs)."""

    def webhook(self, request: MockRequest, job: JobSnapshot, result: MockResponse) -> Any:
        """The JSON payload POSTed for a finished ``job``; ``result`` is the dialect's own answer to its result route."""
        ...

    def webhook_signer(self) -> WebhookSigner:
        """A new signer (one per mock engine, so each has its own key)."""
        ...


# --- helpers shared by dialects -------------------------------------------------------------------

_NO_BODY = object()


def json_body(request: MockRequest) -> Any:
    """The request body parsed as JSON, or :data:`None` when it is not a JSON object/array/value."""
    try:
        return json.loads(request.body) if request.body else None
    except (ValueError, RecursionError):  # RecursionError: JSON nested past the stack
        return _NO_BODY


def is_json(value: Any) -> bool:
    """False for what :func:`json_body` returns on malformed JSON."""
    return value is not _NO_BODY


def request_id_of(request: MockRequest, *extra: Any) -> str:
    """The id a provider gives this request: the engine's fresh one (:attr:`MockRequest.request_id`), else
    :func:`stable_request_id` (a request built by hand, outside the engine)."""
    return request.request_id or stable_request_id(request, *extra)


def stable_request_id(request: MockRequest, *extra: Any) -> str:
    """A UUID-shaped id that depends only on the exchange (method, path, query, ``extra``, body): dialects are pure."""
    parts = [request.method, request.path, json.dumps(dict(request.query), sort_keys=True), *map(str, extra)]
    # surrogatepass: a path decoded from bytes that were not UTF-8 still hashes (never a 500)
    digest = hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass") + b"\0" + request.body).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def credential(request: MockRequest, scheme: str, header: str = "authorization") -> str | None:
    """The key after ``scheme`` in ``header`` (``Key abc`` -> ``abc``), or None when absent or malformed."""
    value = request.headers.get(header.lower(), "")
    word, _, key = value.partition(" ")
    if word.lower() != scheme.lower() or not key.strip():
        return None
    return key.strip()


def select_by_model(request: MockRequest, contracts: Mapping[str, Contract], field: str = "model") -> str | None:
    """The provider/model whose contract constant ``field`` equals the body's, e.g. ``model: wan26_r2v``."""
    body = json_body(request)
    if not isinstance(body, dict):
        return None
    wanted = body.get(field)
    for provider_id, contract in contracts.items():
        if contract.constants.get(field) == wanted:
            return provider_id
    return None


def select_by_path(request: MockRequest, contracts: Mapping[str, Contract]) -> str | None:
    """The provider/model whose submit route is this request's path."""
    for provider_id, contract in contracts.items():
        if contract.transport["routes"]["submit"]["path"] == request.path:
            return provider_id
    return None


_INDEXED = re.compile(r"^references\[(\d+)\]")
_ATTR_TO_OPTION = {attr: name for name, attr in OPTION_FIELDS.items()}


def wire_location(violation: Violation, contract: Contract, body: Any) -> list[str]:
    """Where a violation sits in a wire body: the wire path of its canonical ``field`` as parts (none for ``$``)."""
    field, rule = violation.field, violation.rule
    refs = contract.references
    ref_wire: dict[str, str] = dict(refs["wire"]) if refs else {}
    one_list = ref_wire.get("mixed") or ref_wire.get("media")
    lists = [one_list] if one_list else [ref_wire[k] for k in ("video", "image") if k in ref_wire]
    if field in ("$", ""):
        return []
    if field == "references" or rule.startswith("references."):
        kind = rule.split(".")[1] if rule.count(".") >= 2 else ""
        indexed = _INDEXED.match(field)
        if indexed:
            return _split(_list_of(int(indexed.group(1)), lists, body) or (lists[0] if lists else "references"))
        if kind in ref_wire:
            return _split(ref_wire[kind])
        return _split(lists[0]) if len(lists) == 1 else []  # a cross-list rule (total) is a model-level error
    indexed = _INDEXED.match(field)
    if indexed:
        if rule.startswith("reference_video") and "video" in ref_wire:
            return _split(ref_wire["video"])
        if rule.startswith("reference_image") and "image" in ref_wire:
            return _split(ref_wire["image"])
        return _split(_list_of(int(indexed.group(1)), lists, body) or (lists[0] if lists else field))
    fields = contract.wire_fields
    if field == "prompt":
        return _split(fields.get("prompt", "prompt"))
    slot = _SLOT_OF_FIELD.get(field)
    if slot is not None and slot in fields:
        return _split(fields[slot])
    if slot is not None and slot in contract.media.get("types", {}):
        return _split(contract.media["wire"])  # an item of Wan 2.7's media array
    name = _ATTR_TO_OPTION.get(field, field)
    if name in contract.options:
        wire = contract.options[name].get("wire")
        if wire:
            return _split(wire)
    return _split(field)  # already a wire path (shape problems found while reading the body)


#: canonical field -> the media slot it fills (a slot's own name too)
_SLOT_OF_FIELD = {attr: slot for slot, attr in MEDIA_SLOTS.items()} | {slot: slot for slot in MEDIA_SLOTS}


def wire_path(violation: Violation, contract: Contract, body: Any) -> str:
    """:func:`wire_location` dotted (``parameters.duration``, ``video_urls``); ``body`` for the whole body."""
    return ".".join(wire_location(violation, contract, body)) or "body"


def _list_of(index: int, lists: list[str], body: Any) -> str | None:
    """Which wire list holds the ``index``-th reference (lists are read in order, as ``parse_wire`` does)."""
    for path in lists:
        node: Any = body
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        count = len(node) if isinstance(node, list) else 0
        if index < count:
            return path
        index -= count
    return None


def _split(path: str) -> list[str]:
    return path.split(".") if path else []
