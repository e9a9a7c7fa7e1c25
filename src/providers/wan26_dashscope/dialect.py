"""Alibaba DashScope's server side, for the mock: the video-synthesis task API.

``POST /api/v1/services/aigc/video-generation/video-synthesis`` (with ``X-DashScope-Async: enable``),
``GET /api/v1/tasks/{task_id}`` and ``POST /api/v1/tasks/{task_id}/cancel``. Shapes follow the examples in
``contracts/dashscope/*.json``: ``{request_id, output: {task_id, task_status, …}, usage}`` for tasks and
``{request_id, code, message}`` for every error. An unknown task id is not an error: it answers 200 with
``task_status: "UNKNOWN"``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from wan26core import plugin

__all__ = ["DIALECT", "DashScopeDialect"]

_PLACEHOLDER = re.compile(r"\bxxx\b")

#: DashScope's times carry no zone; its regions (Beijing, Singapore) both keep UTC+8.
_TZ = timezone(timedelta(hours=8))
_ASYNC_HEADER = "x-dashscope-async"


class DashScopeDialect:
    """DashScope's wire protocol for its Wan 2.6 models (one dialect serves them all)."""

    provider = "dashscope"
    #: status and result answers depend only on the request's method, path, query, base URL and fresh
    #: ``request_id`` (written as it is: DashScope gives a new UUID per request, a task polled twice included) and on
    #: the job snapshot, so the mock may reuse one while the job does not change, with each request's own id put in
    cacheable = True
    #: every answer carries a request_id: the engine draws a fresh one per request (MockRequest.request_id)
    request_ids = True
    #: the service answers ``/api/v1/tasks/{id}/`` as ``/api/v1/tasks/{id}``, and dashscope's asyncio client polls
    #: that way (dashscope/aigc/video_synthesis.py ``AioVideoSynthesis.wait``)
    trailing_slash = True

    def __init__(self, models: Sequence[str] = ("r2v", "r2v-flash", "i2v")) -> None:
        self.contracts = {f"{self.provider}/{m}": plugin.builtin_contract(f"{self.provider}/{m}") for m in models}
        first = next(iter(self.contracts.values()))
        self._routes = first.transport["routes"]
        self._async_value = next(
            (v for k, v in first.transport.get("headers", {}).items() if k.lower() == _ASYNC_HEADER), "enable"
        )
        self._catalogue: list[dict[str, Any]] = first.data["errors"]
        # native word of each canonical state: PENDING, RUNNING, SUCCEEDED, FAILED, CANCELED, UNKNOWN
        self._words: dict[str, str] = {}
        for native, canonical in first.data["statuses"]["map"].items():
            self._words.setdefault(canonical, native)

    # --- routing and credentials ------------------------------------------------------------------
    def routes(self) -> list[plugin.Route]:
        routes = self._routes
        # The result is the same GET as the status (the contract says so), so one route serves both.
        return [
            plugin.Route(routes["submit"]["method"].upper(), routes["submit"]["path"], "submit"),
            plugin.Route(routes["status"]["method"].upper(), routes["status"]["path"], "status"),
            plugin.Route(routes["cancel"]["method"].upper(), routes["cancel"]["path"], "cancel"),
        ]

    def authenticate(self, request: plugin.MockRequest) -> plugin.MockResponse | None:
        if plugin.credential(request, "Bearer") is not None:
            return None
        given = request.headers.get("authorization", "").strip()
        message = "No API-key provided." if not given else "Invalid API-key provided."
        return self.error(request, self._native("InvalidApiKey", message) or plugin.NativeError(401, "InvalidApiKey", message))

    def select(self, request: plugin.MockRequest, contracts: Mapping[str, plugin.Contract]) -> str | plugin.MockResponse:
        if request.headers.get(_ASYNC_HEADER, "").strip().lower() != self._async_value.lower():
            return self._error_from(request, "AccessDenied", "current user api does not support synchronous calls.", 403)
        selected = plugin.select_by_model(request, contracts)
        if selected is not None:
            return selected
        body = plugin.json_body(request)
        if not plugin.is_json(body) or not isinstance(body, dict):
            message = "Required parameter(body) missing or invalid, please check the request parameters."
            return self._error_from(request, "InvalidParameter", message, 400)
        if body.get("model") is None:
            return self.error(
                request, plugin.NativeError(400, "BadRequest.EmptyModel", 'Required parameter "model" missing from request.')
            )
        return self._error_from(request, "ModelNotFound", "Model can not be found.", 404)

    def job_id(self, request: plugin.MockRequest) -> str | None:
        return request.params.get("task_id") or None

    # --- answers ----------------------------------------------------------------------------------
    def invalid(
        self, request: plugin.MockRequest, contract: plugin.Contract, violations: list[plugin.Violation]
    ) -> plugin.MockResponse:
        body = plugin.json_body(request)
        if isinstance(body, dict) and not isinstance(body.get("input"), dict):
            native = self._native("BadRequest.EmptyInput") or plugin.NativeError(
                400, "BadRequest.EmptyInput", "Required input parameter missing from request."
            )
            return self.error(request, native)
        chosen = next((v for v in violations if v.native is not None), None)
        if chosen is None or chosen.native is None:
            text = violations[0].message if violations else "invalid request"
            return self.error(request, plugin.NativeError(400, "InvalidParameter", text))
        native = chosen.native
        # the documented texts keep a placeholder: "parameter(xxx)" names the wire parameter, "xxx" elsewhere the URL
        parameter = chosen.field if chosen.rule.startswith("wire.") else plugin.wire_path(chosen, contract, body)
        message = native.message.replace("(xxx)", f"({parameter})")
        if isinstance(chosen.value, str):  # a whole-word xxx: "The size is not match xxxxxx" keeps its own
            message = _PLACEHOLDER.sub(lambda _: str(chosen.value), message, count=1)
        return self.error(request, plugin.NativeError(native.http_status or 400, native.code, message))

    def submitted(self, request: plugin.MockRequest, job: plugin.JobSnapshot) -> plugin.MockResponse:
        output = {"task_id": job.id, "task_status": self._word(job.state)}
        return plugin.MockResponse(200, {"request_id": plugin.request_id_of(request, job.id), "output": output})

    def status(self, request: plugin.MockRequest, job: plugin.JobSnapshot) -> plugin.MockResponse:
        output: dict[str, Any] = {
            "task_id": job.id,
            "task_status": self._word(job.state),
            "submit_time": _time(job.created_at),
        }
        if job.started_at is not None:
            output["scheduled_time"] = _time(job.started_at)
        if job.finished_at is not None and job.state in ("succeeded", "failed", "cancelled"):
            output["end_time"] = _time(job.finished_at)
        prompt = self._prompt(job)
        if prompt is not None:
            output["orig_prompt"] = prompt
        body: dict[str, Any] = {"request_id": plugin.request_id_of(request, job.id, job.state, job.progress), "output": output}
        if job.state == "succeeded" and job.video is not None:
            output["video_url"] = job.video.url
            body["usage"] = self._usage(job)
        elif job.state == "failed":
            native = job.error or plugin.NativeError(
                None, "InternalError", "An internal error has occured, try again later or contact service support."
            )
            output["code"] = native.code
            output["message"] = native.message
        return plugin.MockResponse(200, body)

    def result(self, request: plugin.MockRequest, job: plugin.JobSnapshot) -> plugin.MockResponse:
        return self.status(request, job)

    def cancel(self, request: plugin.MockRequest, job: plugin.JobSnapshot, accepted: bool) -> plugin.MockResponse:
        if accepted:
            return plugin.MockResponse(200, {"request_id": plugin.request_id_of(request, job.id)})
        return self._unsupported(request)

    def not_found(self, request: plugin.MockRequest, job_id: str) -> plugin.MockResponse:
        if request.method.upper() == self._routes["cancel"]["method"].upper() and request.path.endswith("/cancel"):
            return self._unsupported(request)  # nothing PENDING to cancel
        output = {"task_id": job_id, "task_status": self._words.get("unknown", "UNKNOWN")}
        return plugin.MockResponse(200, {"request_id": plugin.request_id_of(request, job_id), "output": output})

    def error(self, request: plugin.MockRequest, native: plugin.NativeError) -> plugin.MockResponse:
        body = {"request_id": plugin.request_id_of(request), "code": native.code, "message": native.message}
        return plugin.MockResponse(native.http_status or 500, body)

    # --- helpers ----------------------------------------------------------------------------------
    def _word(self, state: str) -> str:
        return self._words.get(state, "UNKNOWN")

    def _prompt(self, job: plugin.JobSnapshot) -> str | None:
        contract = self.contracts.get(job.provider)
        path = contract.wire_fields["prompt"] if contract is not None else "input.prompt"
        value = plugin.get_path(dict(job.wire), path)
        return value if isinstance(value, str) else None

    def _usage(self, job: plugin.JobSnapshot) -> dict[str, Any]:
        """As in the contract examples; reference-video seconds are not known to the mock, so they count 0."""
        assert job.video is not None
        contract = self.contracts.get(job.provider)
        output_seconds = round(job.video.duration)
        tier = job.request.resolution or (contract.default("resolution") if contract is not None else None) or "1080p"
        sr = int(str(tier).lower().rstrip("p")) if str(tier).lower().rstrip("p").isdigit() else job.video.height
        usage: dict[str, Any] = {}
        if contract is not None and contract.size_table:  # r2v: billed on input + output seconds, with the size
            usage["duration"] = float(output_seconds)
            usage["size"] = f"{job.video.width}*{job.video.height}"
        else:
            usage["duration"] = output_seconds
        usage.update({"input_video_duration": 0, "output_video_duration": output_seconds, "video_count": 1, "SR": sr})
        return usage

    def _native(self, code: str, message: str | None = None) -> plugin.NativeError | None:
        entries = [e for e in self._catalogue if e["code"] == code and e["http_status"] is not None]
        entry = next((e for e in entries if message is None or e["message"] == message), entries[0] if entries else None)
        return plugin.NativeError(entry["http_status"], entry["code"], entry["message"]) if entry else None

    def _error_from(self, request: plugin.MockRequest, code: str, message: str, status: int) -> plugin.MockResponse:
        """The catalogue's entry for ``code`` with ``message`` (or the documented fallback given)."""
        entry = next((e for e in self._catalogue if e["code"] == code and e["message"] == message), None)
        native = (
            plugin.NativeError(entry["http_status"], code, message)
            if entry and entry["http_status"]
            else plugin.NativeError(status, code, message)
        )
        return self.error(request, native)

    def _unsupported(self, request: plugin.MockRequest) -> plugin.MockResponse:
        native = self._native("UnsupportedOperation") or plugin.NativeError(
            400, "UnsupportedOperation", "Failed to cancel the task, please confirm if the task is in PENDING status."
        )
        return self.error(request, native)


def _time(seconds: float) -> str:
    """``2025-12-16 00:25:59.869``, as DashScope writes its task times."""
    return datetime.fromtimestamp(seconds, _TZ).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


DIALECT = DashScopeDialect()
