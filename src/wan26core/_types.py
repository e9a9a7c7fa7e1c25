"""The values the client side speaks (sans-IO): an HTTP call and its reply, a job's reference, status and result.

Frozen dataclasses with no behaviour beyond reading themselves; :mod:`wan26core._protocol` turns them into and out of a
provider's wire format."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Literal

from wan26core._errors import (
    MalformedResponseError,
    Wan26Error,
)
from wan26core._redaction import redact_url

__all__ = ["FINISHED", "HttpCall", "HttpReply", "JobRef", "JobState", "JobStatus", "VideoResult"]


JobState = Literal["queued", "running", "succeeded", "failed", "cancelled", "unknown"]


FINISHED: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})


@dataclass(frozen=True)
class HttpCall:
    """One HTTP request to make. ``headers`` may hold credentials, so the repr leaves them out."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    idempotent: bool = True  # False for a submit: re-sending it could pay twice
    content: bytes | None = field(default=None, repr=False)  # a raw body (uploads), instead of ``json``

    def __repr__(self) -> str:
        return f"<HttpCall {self.method} {redact_url(self.url)}>"


@dataclass(frozen=True)
class HttpReply:
    """An HTTP answer, fully read: status, lower-case headers and the raw body."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str = ""

    def __repr__(self) -> str:
        return f"<HttpReply {self.status} {len(self.body)} bytes>"

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON; :class:`MalformedResponseError` when it is not."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):  # RecursionError: JSON nested past the stack
            preview = self.body[:80].decode("utf-8", "replace")
            raise MalformedResponseError(
                f"the provider's answer (HTTP {self.status}) is not valid JSON: {preview!r}", http_status=self.status
            ) from None

    @property
    def retry_after(self) -> float | None:
        """``Retry-After`` in seconds (delta or HTTP date), or None."""
        value = self.headers.get("retry-after")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            from datetime import datetime, timezone

            return max(0.0, (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds())
        except (TypeError, ValueError):
            return None


@dataclass(frozen=True)
class JobRef:
    """A job the provider accepted: its id and the URLs it gave for it (status, result, cancel, stream)."""

    provider: str
    job_id: str
    urls: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VideoResult:
    """The generated video: where to fetch it and what the provider says about it."""

    url: str
    content_type: str | None = "video/mp4"
    file_size: int | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    duration: float | None = None
    num_frames: int | None = None
    seed: int | None = None
    raw: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class JobStatus:
    """A job's canonical state, with what the provider reported alongside it."""

    state: JobState
    native: str | None = None  # the provider's own status word
    queue_position: int | None = None
    progress: float | None = None  # 0..1
    logs: tuple[str, ...] = ()
    error: Wan26Error | None = field(default=None, compare=False)
    video: VideoResult | None = None  # when the status body carries the result already
    raw: Any = field(default=None, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED
