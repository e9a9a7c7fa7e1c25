"""AI/ML API's server side, for the mock: ``/v2/video/generations`` (POST to create, GET ?generation_id= to poll).

Shapes follow the examples in ``contracts/aimlapi/*.json``: a create answers ``{id, status: "queued", meta}``;
a poll answers ``{id, status, video, error, meta}`` with ``status`` queued | generating | completed | error;
every error is ``{message, path, requestId, statusCode, timestamp}`` with ``statusCode`` a string.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from wan26core import plugin

__all__ = ["DIALECT", "AimlapiDialect"]

#: Credits billed per second of output (both documented examples: 3150000 for 10 s, 1575000 for 5 s; pricing note).
CREDITS_PER_SECOND = 315_000
_DEFAULT_MESSAGES = {404: "Not Found", 500: "Internal server error"}


class AimlapiDialect:
    """AI/ML API's wire protocol for its Wan 2.6 models (one dialect serves them all)."""

    provider = "aimlapi"
    #: status and result answers depend only on the request's method, path, query and base URL and on the job
    #: snapshot (they read only the snapshot; the clock appears in error bodies alone),
    #: so the mock may reuse one while the job does not change
    cacheable = True
    #: error bodies carry a requestId: the engine draws a fresh one per request (MockRequest.request_id)
    request_ids = True

    def __init__(self, models: Sequence[str] = ("r2v", "i2v")) -> None:
        self.contracts = {f"{self.provider}/{m}": plugin.builtin_contract(f"{self.provider}/{m}") for m in models}
        first = next(iter(self.contracts.values()))
        routes = first.transport["routes"]
        self._submit_path = _path_only(routes["submit"]["path"])
        self._status_path = _path_only(routes["status"]["path"])
        self._submit_method = routes["submit"]["method"].upper()
        self._status_method = routes["status"]["method"].upper()
        # native word of each canonical state: queued, generating, completed, error
        self._words: dict[str, str] = {}
        for native, canonical in first.data["statuses"]["map"].items():
            self._words.setdefault(canonical, native)
        self._catalogue = first.data["errors"]

    # --- routing and credentials ------------------------------------------------------------------
    def routes(self) -> list[plugin.Route]:
        # The result is the same GET as the status (the contract says so), so one route serves both.
        return [
            plugin.Route(self._submit_method, self._submit_path, "submit"),
            plugin.Route(self._status_method, self._status_path, "status"),
        ]

    def authenticate(self, request: plugin.MockRequest) -> plugin.MockResponse | None:
        if plugin.credential(request, "Bearer") is not None:
            return None
        return self.error(request, self._native("authentication", plugin.NativeError(401, "401", "Unauthorized")))

    def select(self, request: plugin.MockRequest, contracts: Mapping[str, plugin.Contract]) -> str | plugin.MockResponse:
        if (selected := plugin.select_by_model(request, contracts)) is not None:
            return selected
        body = plugin.json_body(request)
        if not plugin.is_json(body) or not isinstance(body, dict):
            return self._validation(request, ["Expected object, received " + _zod_type(body)])
        models = " | ".join(f"'{c.constants.get('model')}'" for c in contracts.values())
        wanted = body.get("model")
        if wanted is None:
            return self._validation(request, ["Required at 'model'"])
        return self._validation(request, [f"Invalid enum value. Expected {models}, received {_zod_value(wanted)}"])

    def job_id(self, request: plugin.MockRequest) -> str | None:
        return request.query.get("generation_id") or None

    # --- answers ----------------------------------------------------------------------------------
    def invalid(
        self, request: plugin.MockRequest, contract: plugin.Contract, violations: list[plugin.Violation]
    ) -> plugin.MockResponse:
        body = plugin.json_body(request)
        hints = [_hint(v, plugin.wire_path(v, contract, body)) for v in violations if v.severity == "error"]
        return self._validation(request, list(dict.fromkeys(hints)) or ["Invalid request body"])

    def submitted(self, request: plugin.MockRequest, job: plugin.JobSnapshot) -> plugin.MockResponse:
        return plugin.MockResponse(200, {"id": job.id, "status": self._word(job.state), "meta": self._meta(job)})

    def status(self, request: plugin.MockRequest, job: plugin.JobSnapshot) -> plugin.MockResponse:
        error: dict[str, str] | None = None
        if job.state == "failed":
            native = job.error or plugin.NativeError(None, "error", "")
            error = {"name": native.code, "message": native.message or "The generation failed"}
        elif job.state == "cancelled":
            error = {"name": "cancelled", "message": "The generation was cancelled"}
        body = {
            "id": job.id,
            "status": self._word(job.state),
            "video": {"url": job.video.url} if job.video is not None else None,
            "error": error,
            "meta": self._meta(job),
        }
        return plugin.MockResponse(200, body)

    def result(self, request: plugin.MockRequest, job: plugin.JobSnapshot) -> plugin.MockResponse:
        return self.status(request, job)

    def cancel(self, request: plugin.MockRequest, job: plugin.JobSnapshot, accepted: bool) -> plugin.MockResponse:
        # AI/ML API documents no cancel route; answer like any unknown route would.
        return self.error(request, plugin.NativeError(404, "404", f"Cannot {request.method.upper()} {request.path}"))

    def not_found(self, request: plugin.MockRequest, job_id: str) -> plugin.MockResponse:
        if not job_id:
            return self._validation(request, ["Required at 'generation_id'"], label="Query validation error")
        return self.error(request, self._native("not_found", plugin.NativeError(404, "404", "")))

    def error(self, request: plugin.MockRequest, native: plugin.NativeError) -> plugin.MockResponse:
        status = native.http_status or 500
        message = native.message or _DEFAULT_MESSAGES.get(status, "Error")
        return plugin.MockResponse(status, _error_body(request, status, message))

    # --- helpers ----------------------------------------------------------------------------------
    def _word(self, state: str) -> str:
        return self._words.get(state, self._words.get("failed", "error"))

    def _meta(self, job: plugin.JobSnapshot) -> dict[str, Any]:
        duration = job.video.duration if job.video is not None else job.request.duration
        if duration is None:
            contract = self.contracts.get(job.provider)
            duration = contract.default("duration") if contract is not None else None
        return {"usage": {"credits_used": round(float(duration or 0) * CREDITS_PER_SECOND)}}

    def _native(self, kind: str, fallback: plugin.NativeError) -> plugin.NativeError:
        entry = next((e for e in self._catalogue if e["kind"] == kind), None)
        return plugin.NativeError(entry["http_status"], entry["code"], entry["message"]) if entry else fallback

    def _validation(
        self, request: plugin.MockRequest, hints: list[str], label: str = "Body validation error"
    ) -> plugin.MockResponse:
        # The documented example: "Body validation error\nInvalid enum value. Expected '720p' | '1080p', received '480p'"
        return plugin.MockResponse(400, _error_body(request, 400, "\n".join([label, *hints])))


def _error_body(request: plugin.MockRequest, status: int, message: str) -> dict[str, Any]:
    return {
        "message": message,
        "path": request.path,
        "requestId": plugin.request_id_of(request),
        "statusCode": str(status),
        "timestamp": _timestamp(request),
    }


def _hint(violation: plugin.Violation, wire: str) -> str:
    """A violation in the zod wording AI/ML API uses (``Expected … received …``) where it has one, at its wire field."""
    if violation.rule.startswith("wire.") and violation.native is not None:
        return violation.native.message.removeprefix("Body validation error\n")
    if violation.rule.endswith(".data_uri"):  # the provider's words, not the client's advice
        return f"Expected a URL, received a data URI at '{wire}'"
    if violation.rule == "option.values" and isinstance(violation.limit, list):
        expected = " | ".join(_zod_value(v) for v in violation.limit)
        return f"Invalid enum value. Expected {expected}, received {_zod_value(violation.value)}"
    limit = violation.limit
    if isinstance(limit, int) and not isinstance(limit, bool):  # a count or a length, in zod's words
        noun = "String" if violation.rule.endswith("max_length") or violation.rule.endswith("min_length") else "Array"
        unit = "character(s)" if noun == "String" else "element(s)"
        if violation.rule.endswith(("max", "max_length")):
            return f"{noun} must contain at most {limit} {unit} at '{wire}'"
        if violation.rule.endswith(("min", "min_length")):
            return f"{noun} must contain at least {limit} {unit} at '{wire}'"
    return f"{violation.message} at '{wire}'"


def _zod_value(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else json.dumps(value)


def _zod_type(value: Any) -> str:
    if not plugin.is_json(value):
        return "invalid JSON"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "array"
    return {bool: "boolean", int: "number", float: "number", str: "string"}.get(type(value), "unknown")


def _timestamp(request: plugin.MockRequest) -> str:
    """ISO 8601 with milliseconds, from the engine's virtual clock when the request carries it."""
    now = getattr(request, "now", None)
    seconds = float(now) if isinstance(now, (int, float)) else 0.0
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _path_only(template: str) -> str:
    """``/v2/video/generations?generation_id={generation_id}`` -> ``/v2/video/generations``."""
    return template.split("?", 1)[0]


DIALECT = AimlapiDialect()
