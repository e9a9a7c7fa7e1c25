"""Error classification: which :class:`~wan26core.Wan26Error` a provider's native error becomes.

The contract's error catalogue decides (its ``kind``), then the HTTP status; a failure reported for a job that ran
is a generation failure."""

from __future__ import annotations

from typing import Any

from wan26core._contract import Contract
from wan26core._errors import (
    AuthenticationError,
    ContentPolicyError,
    GenerationFailedError,
    JobNotFoundError,
    NativeError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    ValidationError,
    Violation,
    Wan26Error,
)

__all__ = ["error_for"]


_KIND_BY_STATUS = {
    400: "validation",
    401: "authentication",
    403: "permission",
    404: "not_found",
    409: "conflict",
    422: "validation",
    429: "rate_limit",
}


def error_for(
    contract: Contract,
    native: NativeError,
    *,
    job_id: str | None = None,
    retry_after: float | None = None,
    generation: bool = False,
) -> Wan26Error:
    """The wan26 exception for a native error: its kind comes from the contract's error catalogue."""
    kind = _kind(contract, native, generation)
    provider = contract.id
    common: dict[str, Any] = {
        "provider": provider,
        "native_code": native.code,
        "native_message": native.message,
        "http_status": native.http_status,
    }
    text = f"{provider} answered {native}"
    if kind == "authentication":
        return AuthenticationError(f"{provider} refused the API key", **common)
    if kind == "permission":
        return PermissionDeniedError(f"{provider} refused access", **common)
    if kind == "rate_limit":
        wait = f"retry after {retry_after:g} s" if retry_after is not None else "no Retry-After"
        return RateLimitError(
            f"{provider} is rate limiting ({wait})",
            retry_after=retry_after,
            **common,
        )
    if kind == "content_policy":
        return ContentPolicyError(f"{provider} content check rejected job {job_id or ''}".rstrip(), job_id=job_id, **common)
    if kind in ("generation_failed", "timeout") and (generation or kind == "generation_failed"):
        return GenerationFailedError(f"{provider} job {job_id or ''} failed".replace("  ", " "), job_id=job_id, **common)
    if kind == "not_found":
        return JobNotFoundError(f"{provider} does not know job {job_id or '(unknown id)'}", **common)
    if kind in ("validation", "unsupported_option") and not generation:
        violation = Violation("$", f"provider.{kind}", native.message or native.code, native=native)
        error = ValidationError([violation], provider=provider)
        return error
    if generation:
        return GenerationFailedError(f"{provider} job {job_id or ''} failed".replace("  ", " "), job_id=job_id, **common)
    retryable = native.http_status is None or native.http_status >= 500 or native.http_status == 408
    return ProviderError(text, retryable=retryable, **common)


def _kind(contract: Contract, native: NativeError, generation: bool) -> str:
    entries = [e for e in contract.data["errors"] if e["code"] == native.code]
    exact = [e for e in entries if e["http_status"] == native.http_status]
    chosen = (exact or entries or [None])[0]
    if chosen is not None:
        return str(chosen["kind"])
    if native.http_status in _KIND_BY_STATUS:
        return _KIND_BY_STATUS[native.http_status]
    if native.http_status is not None and native.http_status >= 500:
        return "provider"
    return "generation_failed" if generation else "provider"
