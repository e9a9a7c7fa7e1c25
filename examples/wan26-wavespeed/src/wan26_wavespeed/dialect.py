"""WaveSpeed's server side, for the wan26 mock: submit to the model's path, poll the prediction.

Routes and shapes come from the contract ``wavespeed/r2v``: ``POST /api/v3/alibaba/wan-2.6/reference-to-video``
answers the prediction ``created``; ``GET /api/v3/predictions/{request_id}`` and ``.../result`` answer it
``processing``, ``completed`` (with ``outputs``) or ``failed`` (with ``error``), always inside
``{code: 200, message: "success", data}``. Errors are ``{code: <HTTP status>, message}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from wan26core import plugin

from .contracts import load_contract

__all__ = ["DIALECT", "WaveSpeedDialect"]

#: the engine's job states in WaveSpeed's words (no cancel route: a cancelled job reads as failed)
_WORDS = {"queued": "created", "running": "processing", "succeeded": "completed", "failed": "failed", "cancelled": "failed"}


class WaveSpeedDialect:
    """WaveSpeed's wire protocol for its Wan 2.6 model(s)."""

    provider = "wavespeed"
    #: status and result answers depend only on the request's path and base URL and on the job snapshot
    cacheable = True

    def __init__(self, models: tuple[str, ...] = ("r2v",)) -> None:
        self.contracts = {f"{self.provider}/{m}": load_contract(m) for m in models}
        first = next(iter(self.contracts.values()))
        self._routes: dict[str, Any] = first.transport["routes"]
        self._catalogue: list[dict[str, Any]] = first.data["errors"]

    # --- routing and credentials ------------------------------------------------------------------
    def routes(self) -> list[plugin.Route]:
        status, result = self._routes["status"], self._routes["result"]
        submits = [plugin.Route("POST", c.transport["routes"]["submit"]["path"], "submit") for c in self.contracts.values()]
        return [
            *submits,
            plugin.Route(status["method"], status["path"], "status"),
            plugin.Route(result["method"], result["path"], "result"),
        ]

    def authenticate(self, request: plugin.MockRequest) -> plugin.MockResponse | None:
        if plugin.credential(request, "Bearer") is not None:
            return None
        return self.error(request, self._native("authentication", plugin.NativeError(401, "401", "Invalid authentication")))

    def select(self, request: plugin.MockRequest, contracts: Mapping[str, plugin.Contract]) -> str | plugin.MockResponse:
        return plugin.select_by_path(request, contracts) or self.error(request, plugin.NativeError(404, "404", "model not found"))

    def job_id(self, request: plugin.MockRequest) -> str | None:
        return request.params.get("request_id") or None

    # --- answers ----------------------------------------------------------------------------------
    def invalid(
        self, request: plugin.MockRequest, contract: plugin.Contract, violations: list[plugin.Violation]
    ) -> plugin.MockResponse:
        native = next((v.native for v in violations if v.native is not None), None)
        if native is None:
            text = violations[0].message if violations else "invalid request"
            native = plugin.NativeError(400, "400", text)
        return self.error(request, native)

    def submitted(self, request: plugin.MockRequest, job: plugin.JobSnapshot) -> plugin.MockResponse:
        return self.status(request, job)

    def status(self, request: plugin.MockRequest, job: plugin.JobSnapshot) -> plugin.MockResponse:
        return plugin.MockResponse(200, {"code": 200, "message": "success", "data": self._prediction(request, job)})

    def result(self, request: plugin.MockRequest, job: plugin.JobSnapshot) -> plugin.MockResponse:
        return self.status(request, job)

    def cancel(self, request: plugin.MockRequest, job: plugin.JobSnapshot, accepted: bool) -> plugin.MockResponse:
        return self.not_found(request, job.id)  # WaveSpeed documents no cancel route

    def not_found(self, request: plugin.MockRequest, job_id: str) -> plugin.MockResponse:
        return self.error(request, self._native("not_found", plugin.NativeError(404, "404", "Prediction not found")))

    def error(self, request: plugin.MockRequest, native: plugin.NativeError) -> plugin.MockResponse:
        status = native.http_status or 500
        return plugin.MockResponse(status, {"code": status, "message": native.message})

    # --- helpers ----------------------------------------------------------------------------------
    def _prediction(self, request: plugin.MockRequest, job: plugin.JobSnapshot) -> dict[str, Any]:
        contract = self.contracts[job.provider]
        state = _WORDS[job.state]
        data: dict[str, Any] = {
            "id": job.id,
            "model": contract.native_model,
            "outputs": [job.video.url] if state == "completed" and job.video is not None else [],
            "urls": {"get": f"{request.base_url}/api/v3/predictions/{job.id}/result"},
            "has_nsfw_contents": [False] if state == "completed" else [],
            "status": state,
            "created_at": _iso(job.created_at),
            "error": "",
        }
        if state == "completed" and job.started_at is not None and job.finished_at is not None:
            data["timings"] = {"inference": round((job.finished_at - job.started_at) * 1000)}
        elif state == "failed":
            data["error"] = job.error.message if job.error is not None else "the prediction was cancelled"
        return data

    def _native(self, kind: str, fallback: plugin.NativeError) -> plugin.NativeError:
        entry = next((e for e in self._catalogue if e["kind"] == kind), None)
        return plugin.NativeError(entry["http_status"], entry["code"], entry["message"]) if entry else fallback


def _iso(seconds: float) -> str:
    """``2026-11-21T12:00:00.000Z``, as WaveSpeed writes ``created_at``."""
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


DIALECT = WaveSpeedDialect()
