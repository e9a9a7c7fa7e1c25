"""Vtrix's server side, for the mock: ``POST /model/v1/generation`` and ``GET /model/v1/generation/task/{task_id}``.

Shapes follow ``contracts/vtrix/r2v.json``: a create answers ``{id, status: "in_progress", model, created_at}``; a
poll adds ``progress`` while in progress, ``output``/``usage``/``metadata`` when completed and ``error {code, message}``
when failed. Task-level codes (``0010280xx``, catalogued with no HTTP status) arrive inside a 200 body
``{status: "failed", error: {code, message}}``; HTTP-level errors are ``{message}``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from wan26core import plugin

__all__ = ["DIALECT", "VtrixDialect"]

#: Vtrix's API vocabulary (the CLI's pending/processing are read by clients, never sent by the API).
_WORDS = {"queued": "in_progress", "running": "in_progress", "succeeded": "completed", "failed": "failed", "cancelled": "failed"}
#: Which violation answers when several fire: total count, then images, then videos, then the URL format
#: (also the catalogue's own order 001028001 … 001028004).
_PRIORITY = ("references.total", "references.image", "references.video", "references.source")


class VtrixDialect:
    """Vtrix's wire protocol for its Wan 2.6 model(s)."""

    provider = "vtrix"
    #: status and result answers depend only on the request's method, path, query and base URL and on the job
    #: snapshot (they read only the snapshot),
    #: so the mock may reuse one while the job does not change
    cacheable = True

    def __init__(self, models: Sequence[str] = ("r2v",)) -> None:
        self.contracts = {f"{self.provider}/{m}": plugin.builtin_contract(f"{self.provider}/{m}") for m in models}
        first = next(iter(self.contracts.values()))
        self._routes = first.transport["routes"]
        self._catalogue: list[dict[str, Any]] = first.data["errors"]

    # --- routing and credentials ------------------------------------------------------------------
    def routes(self) -> list[plugin.Route]:
        submit, status = self._routes["submit"], self._routes["status"]
        # The result is the same GET as the status (the contract says so), so one route serves both.
        return [
            plugin.Route(submit["method"].upper(), submit["path"], "submit"),
            plugin.Route(status["method"].upper(), status["path"], "status"),
        ]

    def authenticate(self, request: plugin.MockRequest) -> plugin.MockResponse | None:
        if plugin.credential(request, "Bearer") is not None:
            return None
        return self.error(
            request, self._native("authentication", plugin.NativeError(401, "401", "API key is missing or invalid"))
        )

    def select(self, request: plugin.MockRequest, contracts: Mapping[str, plugin.Contract]) -> str | plugin.MockResponse:
        if (selected := plugin.select_by_model(request, contracts)) is not None:
            return selected
        body = plugin.json_body(request)
        if not plugin.is_json(body) or not isinstance(body, dict):
            return plugin.MockResponse(400, {"message": "Invalid request body: expected a JSON object"})
        wanted = body.get("model")
        if wanted is None:
            return plugin.MockResponse(400, {"message": "model is required"})
        return plugin.MockResponse(400, {"message": f"model {wanted!r} is not supported"})

    def job_id(self, request: plugin.MockRequest) -> str | None:
        return request.params.get("task_id") or None

    # --- answers ----------------------------------------------------------------------------------
    def invalid(
        self, request: plugin.MockRequest, contract: plugin.Contract, violations: list[plugin.Violation]
    ) -> plugin.MockResponse:
        native = [v for v in violations if v.native is not None]
        if not native:
            text = violations[0].message if violations else "invalid request"
            return plugin.MockResponse(400, {"message": f"Invalid request body: {text}"})
        shape = next((v for v in native if v.rule.startswith("wire.")), None)
        chosen = shape or min(native, key=_rank)
        assert chosen.native is not None
        if chosen.native.code == str(chosen.native.http_status):  # the generic refusal: a plain HTTP 400 {message}
            return self.error(request, chosen.native)
        status = chosen.native.http_status
        # null in the catalogue = the error arrives in a 200 body (contract schema: errors[].http_status)
        return plugin.MockResponse(status or 200, _failed(chosen.native))

    def submitted(self, request: plugin.MockRequest, job: plugin.JobSnapshot) -> plugin.MockResponse:
        return plugin.MockResponse(200, self._task(job, with_progress=False))

    def status(self, request: plugin.MockRequest, job: plugin.JobSnapshot) -> plugin.MockResponse:
        return plugin.MockResponse(200, self._task(job, with_progress=True))

    def result(self, request: plugin.MockRequest, job: plugin.JobSnapshot) -> plugin.MockResponse:
        return self.status(request, job)

    def cancel(self, request: plugin.MockRequest, job: plugin.JobSnapshot, accepted: bool) -> plugin.MockResponse:
        # Vtrix documents no cancel route.
        return plugin.MockResponse(404, {"message": "Not Found"})

    def not_found(self, request: plugin.MockRequest, job_id: str) -> plugin.MockResponse:
        return plugin.MockResponse(404, {"message": f"task {job_id} not found"})

    def error(self, request: plugin.MockRequest, native: plugin.NativeError) -> plugin.MockResponse:
        status = native.http_status or 500
        if native.code == str(native.http_status) or not native.code.isdigit():
            return plugin.MockResponse(status, {"message": native.message})
        return plugin.MockResponse(status, _failed(native))  # a task-level code (0010280xx) in its documented body

    # --- helpers ----------------------------------------------------------------------------------
    def _task(self, job: plugin.JobSnapshot, *, with_progress: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": job.id,
            "status": _WORDS.get(job.state, "failed"),
            "model": job.wire.get("model", self.contracts[job.provider].constants.get("model")),
            "created_at": int(job.created_at),
        }
        if job.state in ("queued", "running"):
            if with_progress:
                body["progress"] = job.progress if job.state == "running" else 0.0
        elif job.state == "succeeded":
            content: dict[str, Any] = {"type": "video", "url": job.video.url if job.video else None}
            if job.video is not None:
                content["duration"] = round(job.video.duration)
            content["jobId"] = "job_" + hashlib.sha256(job.id.encode()).hexdigest()[:20]
            body["output"] = [{"content": [content]}]
            body["usage"] = {"cost": _usd(job.cost_usd), "discount": 0}
            body["metadata"] = {}
        else:
            native = job.error or plugin.NativeError(None, "001028095", "Internal generation error")
            if job.state == "cancelled":
                native = plugin.NativeError(None, "cancelled", "The task was cancelled")
            body["error"] = {"code": native.code, "message": native.message}
        return body

    def _native(self, kind: str, fallback: plugin.NativeError) -> plugin.NativeError:
        entry = next((e for e in self._catalogue if e["kind"] == kind), None)
        return plugin.NativeError(entry["http_status"], entry["code"], entry["message"]) if entry else fallback


def _rank(violation: plugin.Violation) -> int:
    rule = violation.rule
    return next((i for i, prefix in enumerate(_PRIORITY) if rule == prefix or rule.startswith(prefix + ".")), len(_PRIORITY))


def _failed(native: plugin.NativeError) -> dict[str, Any]:
    return {"status": "failed", "error": {"code": native.code, "message": native.message}}


def _usd(cost: float | None) -> str:
    """``usage.cost``: USD as a string; "0" while the price per second is undocumented (contract pricing)."""
    if not cost:
        return "0"
    text = f"{cost:.4f}".rstrip("0")
    return text + "0" * max(0, 2 - len(text.partition(".")[2]))  # 0.5 -> "0.50", 0.0375 -> "0.0375"


DIALECT = VtrixDialect()
