"""The exception hierarchy, and the violation record that validation produces.

Every error raised by wan26 derives from :class:`Wan26Error`. Errors that come from a provider carry
its native code and message, so a caller can branch on what the provider itself said.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wan26core._redaction import redact_text

__all__ = [
    "AuthenticationError",
    "ContentPolicyError",
    "DownloadError",
    "GenerationFailedError",
    "JobCancelledError",
    "JobNotFoundError",
    "JobTimeoutError",
    "MalformedResponseError",
    "MissingExtraError",
    "NativeError",
    "PermissionDeniedError",
    "PluginError",
    "ProviderError",
    "RateLimitError",
    "SubmitUncertainError",
    "TransportError",
    "UnknownProviderError",
    "UnsupportedOptionError",
    "ValidationError",
    "Violation",
    "Wan26Error",
    "WebhookVerificationError",
]


@dataclass(frozen=True)
class NativeError:
    """What the provider itself answers (or would answer) for a condition."""

    http_status: int | None
    code: str
    message: str

    def __str__(self) -> str:
        status = f"HTTP {self.http_status}" if self.http_status is not None else ""
        code = "" if status and self.code == str(self.http_status) else self.code  # no native code: not "HTTP 500 500"
        head = " ".join(part for part in (status, code) if part)
        return f"{head}: {self.message}" if self.message else head

    def as_dict(self) -> dict[str, Any]:
        return {"http_status": self.http_status, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class Violation:
    """One broken rule: where (``field``), which rule, its limit, the offending value and the native error."""

    field: str
    rule: str
    message: str
    limit: Any = None
    value: Any = None
    native: NativeError | None = None
    severity: str = "error"  # "error" blocks the request, "warning" does not

    def __str__(self) -> str:
        text = f"{self.field}: {self.message} [{self.rule}]"
        if self.native is not None:
            text += f" (provider would answer {self.native})"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "rule": self.rule,
            "message": self.message,
            "limit": _jsonable(self.limit),
            "value": _jsonable(self.value),
            "native": self.native.as_dict() if self.native else None,
            "severity": self.severity,
        }


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


class Wan26Error(Exception):
    """Base of every wan26 error. ``native_code``/``native_message`` hold the provider's own words; ``job_id`` names
    the provider's job the error is about, where there is one (a failed, timed-out or cancelled job is not lost), and
    ``local_id`` the journal's record of it."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        native_code: str | None = None,
        native_message: str | None = None,
        http_status: int | None = None,
        job_id: str | None = None,
        local_id: str | None = None,
    ) -> None:
        message = redact_text(message)  # an error text never carries a signed URL's token or a URL's password
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.native_code = native_code
        self.native_message = redact_text(native_message) if native_message is not None else None
        self.http_status = http_status
        self.job_id = job_id
        self.local_id = local_id

    def __str__(self) -> str:
        text = self.message
        said = self.native_code is not None and self.native_code in text and (self.native_message or "") in text
        if self.native_code and not said:  # "… answered HTTP 500: boom" already says it
            text += f" [{self.provider or 'provider'} {self.native_code}"
            text += f": {self.native_message}]" if self.native_message else "]"
        return text


class ValidationError(Wan26Error):
    """The request breaks one or more rules of the endpoint's contract; ``violations`` lists all of them."""

    def __init__(self, violations: list[Violation], *, provider: str | None = None) -> None:
        self.violations = list(violations)
        lines = [f"{len(self.violations)} violation(s) for {provider or 'the request'}:"]
        lines += [f"  - {v}" for v in self.violations]
        first = next((v.native for v in self.violations if v.native), None)
        super().__init__(
            "\n".join(lines),
            provider=provider,
            native_code=first.code if first else None,
            native_message=first.message if first else None,
            http_status=first.http_status if first else None,
        )

    def __str__(self) -> str:  # the full list, not only the first native code
        return self.message


class UnsupportedOptionError(ValidationError):
    """Every violation is an option the endpoint does not have (e.g. ``watermark`` on fal)."""


class PluginError(Wan26Error):
    """A plugin misbehaved: bad registration, duplicate provider id, unreadable contract."""


class UnknownProviderError(PluginError):
    """No registered provider has that ``provider/model`` id."""


class MissingExtraError(Wan26Error):
    """An optional feature needs an extra that is not installed; the message names the extra."""


class AuthenticationError(Wan26Error):
    """The provider refused the credentials (or none were given)."""


class PermissionDeniedError(Wan26Error):
    """Authenticated, but not allowed: no credit, no access to the model."""


class RateLimitError(Wan26Error):
    """The provider asked us to slow down; ``retry_after`` is in seconds when it said so."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ProviderError(Wan26Error):
    """The provider answered with an error that fits no narrower class; ``retryable`` for 5xx-style failures."""

    def __init__(self, message: str, *, retryable: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retryable = retryable


class JobNotFoundError(ProviderError):
    """The provider does not know the job id (expired, wrong provider, or never accepted)."""


class MalformedResponseError(ProviderError):
    """The provider's answer could not be read (not JSON, truncated, or missing a required field)."""


class TransportError(Wan26Error):
    """The request did not complete at the network level (refused, reset, timed out) after every retry."""


class SubmitUncertainError(TransportError):
    """A submit may have reached the provider but no answer came back (a read timeout, a reset).

    wan26 does not re-send it, so a job is never paid for twice; the journal keeps it as ``unknown``
    under ``local_id`` so it can be looked for later.
    """


class GenerationFailedError(ProviderError):
    """The job was accepted but the generation failed; ``job_id`` identifies it."""


class ContentPolicyError(GenerationFailedError):
    """The provider's content safety check rejected the input or the output."""


class JobTimeoutError(Wan26Error):
    """Waiting ran out of time. The job is not lost: ``job_id`` still identifies it."""


class JobCancelledError(Wan26Error):
    """The job was cancelled before it produced a result."""


class DownloadError(Wan26Error):
    """A result file could not be downloaded: HTTP error, size mismatch, interrupted stream or an existing target.

    Nothing is ever left under the target name. ``retryable`` is true for transport errors, 429 and 5xx.
    """

    def __init__(self, message: str, *, retryable: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retryable = retryable


class WebhookVerificationError(Wan26Error):
    """The webhook is not provably from the provider: missing headers, stale timestamp or a bad signature."""
