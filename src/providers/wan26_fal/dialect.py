"""fal's queue API as seen from the server side: the dialect the wan26 mock serves for the fal models.

Shapes follow the contracts' examples and error catalogues (``contracts/fal/*.json``) and what the
official python ``fal-client`` parses (it raises on a missing key), so the client works unchanged:

- submit ``POST /{model path}`` -> 200 ``{request_id, response_url, status_url, cancel_url, status, queue_position}``;
- status ``GET /{owner}/{alias}/requests/{id}/status[?logs=1|true]`` -> 202 while ``IN_QUEUE``/``IN_PROGRESS``,
  200 once ``COMPLETED``; ``queue_position`` for ``IN_QUEUE``; ``logs`` always for ``IN_PROGRESS``/``COMPLETED``
  (``[]`` when not asked for); ``metrics.inference_time`` and, for a failure, ``error``/``error_type`` when ``COMPLETED``;
- result ``GET /{owner}/{alias}/requests/{id}`` -> the model output, or the native error of a failed request;
- cancel ``PUT /{owner}/{alias}/requests/{id}/cancel`` -> 202 ``CANCELLATION_REQUESTED`` / 400 ``ALREADY_COMPLETED``;
- status stream ``GET /{owner}/{alias}/requests/{id}/status/stream[?logs=1]`` -> 200 ``text/event-stream``: one
  ``data: {status JSON}`` event per change, the status route's body but for ``logs``, which holds only the lines
  written since the previous event (``@fal-ai/client`` appends them to those it has), and the stream ends after the
  ``COMPLETED`` event (https://fal.ai/docs/inference-api/queue/status-stream; ``@fal-ai/client`` ``FalStream``
  parses each ``data`` as JSON and resolves ``done()`` with the last one); ``: keep-alive`` comment lines while
  nothing changes (the engine paces them);
- webhook (``?fal_webhook=URL`` on submit): ``{request_id, gateway_request_id, status: OK|ERROR, payload[, error]}``,
  ``payload`` being the result body, ``error`` ``"Invalid status code: <status>"`` (fal docs: Webhooks); the
  engine signs and delivers it.

fal-client knows only three status words, so a cancelled request reports ``COMPLETED`` with the error of
fal's ``RequestCancelledException`` (``client_cancelled``, 499): an inference, no fal page shows that answer;
its webhook, likewise inferred, is an ``ERROR`` with that body. The dialect is pure: no I/O, no clock.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

from wan26core import plugin

from .webhooks import FalWebhookSigner

if TYPE_CHECKING:
    from .storage import FalStorage

__all__ = ["CANCELLED", "FalDialect"]

#: what a cancelled request reports (fal's RequestCancelledException and its request-error type)
CANCELLED = plugin.NativeError(499, "client_cancelled", "Request cancelled by the client.")
_STILL_RUNNING = "Request is still in progress"
_REQUEST_ID_HEADER = "x-fal-request-id"
_EVENT_STREAM = "text/event-stream; charset=utf-8"
_KEEPALIVE = b": keep-alive\n\n"
_ERROR_TYPE_HEADER = "X-Fal-Error-Type"
_JOB_ACTIONS = ("status", "stream", "result", "cancel")


class FalDialect:
    """The fal queue protocol for every fal model of wan26 (they share the ``wan/v2.6`` owner/alias routes)."""

    provider = "fal"
    #: status and result answers depend only on the request's method, path, query and base URL and on the job
    #: snapshot (URLs from the base URL, logs from the snapshot),
    #: so the mock may reuse one while the job does not change
    cacheable = True
    #: fal-client speaks only https, so the pytest plugin serves the mock over TLS when it is installed
    https_only_clients = ("fal_client",)

    def __init__(self, contracts: Sequence[str | plugin.Contract]) -> None:
        """``contracts``: the models served, as contracts or built-in contract ids (``fal/r2v-flash``), loaded lazily."""
        self._specs = tuple(contracts)

    def __repr__(self) -> str:
        return f"<FalDialect {', '.join(self.contracts)}>"

    @cached_property
    def contracts(self) -> dict[str, plugin.Contract]:
        loaded = [c if isinstance(c, plugin.Contract) else plugin.builtin_contract(c) for c in self._specs]
        return {c.id: c for c in loaded}

    # --- routing ----------------------------------------------------------------------------------
    def routes(self) -> list[plugin.Route]:
        routes: list[plugin.Route] = []
        seen: set[tuple[str, str]] = set()
        for contract in self.contracts.values():
            table = contract.transport["routes"]
            for action in ("submit", "status", "stream", "result", "cancel"):
                spec = table.get(action)
                if spec is None:
                    continue
                key = (spec["method"].upper(), spec["path"])
                if key not in seen:
                    seen.add(key)
                    routes.append(plugin.Route(key[0], key[1], action))
        return routes

    def select(self, request: plugin.MockRequest, contracts: Mapping[str, plugin.Contract]) -> str | plugin.MockResponse:
        return plugin.select_by_path(request, contracts) or plugin.MockResponse(
            404, {"detail": f"Application not found: {request.path}"}
        )

    def job_id(self, request: plugin.MockRequest) -> str | None:
        return request.params.get("request_id")

    # --- credentials and refusals -----------------------------------------------------------------
    def authenticate(self, request: plugin.MockRequest) -> plugin.MockResponse | None:
        if plugin.credential(request, "Key") is not None:
            return None
        native = self._catalogued("authentication") or plugin.NativeError(
            401, "unauthorized", "No user found for Key ID and Secret"
        )
        return self.error(request, native)

    def invalid(
        self, request: plugin.MockRequest, contract: plugin.Contract, violations: list[plugin.Violation]
    ) -> plugin.MockResponse:
        body = plugin.json_body(request)
        detail: list[dict[str, Any]] = []
        status = 422
        for violation in violations:
            native = violation.native
            if native is None:
                continue
            if not detail and native.http_status:
                status = native.http_status
            if violation.rule.startswith("wire."):  # pydantic's own item: type, msg, input, ctx
                item = {"type": native.code, "loc": ["body", *_loc(violation.field)], "msg": native.message}
                if violation.value is not None:
                    item["input"] = violation.value
                if violation.limit:
                    item["ctx"] = violation.limit
            else:
                item = {
                    "loc": ["body", *plugin.wire_location(violation, contract, body)],
                    "msg": _pydantic_message(native, violation),
                    "type": native.code,
                }
                url = _template_item(contract, native.code).get("url")
                if url:
                    item["url"] = url
            if item not in detail:
                detail.append(item)
        if not detail:  # nothing catalogued: still a pydantic-shaped refusal
            detail = [{"loc": ["body"], "msg": v.message, "type": "value_error"} for v in violations[:1]] or [
                {"loc": ["body"], "msg": "Invalid request", "type": "value_error"}
            ]
        return plugin.MockResponse(status, {"detail": detail})

    def not_found(self, request: plugin.MockRequest, job_id: str) -> plugin.MockResponse:
        native = self._catalogued("not_found") or plugin.NativeError(404, "NOT_FOUND", "Request not found")
        if request.method.upper() == "PUT":  # the cancel route answers with a status word
            return plugin.MockResponse(native.http_status or 404, {"status": native.code})
        return plugin.MockResponse(native.http_status or 404, {"detail": native.message})

    def error(self, request: plugin.MockRequest, native: plugin.NativeError) -> plugin.MockResponse:
        body, headers = self._error_body(native)
        return plugin.MockResponse(native.http_status or 500, body, headers)

    # --- jobs -------------------------------------------------------------------------------------
    def submitted(self, request: plugin.MockRequest, job: plugin.JobSnapshot) -> plugin.MockResponse:
        body: dict[str, Any] = {**self._urls(request, job), "status": "IN_QUEUE", "queue_position": job.queue_position}
        if request.query.get("fal_webhook"):  # fal docs (Webhooks): the answer then names the gateway request too
            body["gateway_request_id"] = job.id
        return plugin.MockResponse(200, body, {_REQUEST_ID_HEADER: job.id})

    def status(self, request: plugin.MockRequest, job: plugin.JobSnapshot) -> plugin.MockResponse:
        with_logs = request.query.get("logs", "").strip().lower() in ("1", "true")
        body: dict[str, Any] = {"status": _word(job), **self._urls(request, job)}
        if job.state == "queued":
            body["queue_position"] = job.queue_position
            if with_logs:
                body["logs"] = []
            return plugin.MockResponse(202, body, {_REQUEST_ID_HEADER: job.id})
        body["logs"] = _logs(job) if with_logs else []  # fal-client reads data["logs"] unconditionally
        if job.state == "running":
            return plugin.MockResponse(202, body, {_REQUEST_ID_HEADER: job.id})
        if job.started_at is not None and job.finished_at is not None:
            body["metrics"] = {"inference_time": round(max(0.0, job.finished_at - job.started_at), 3)}
        failure = _failure(job)
        if failure is not None:
            body["error"] = failure.message
            body["error_type"] = failure.code
        return plugin.MockResponse(200, body, {_REQUEST_ID_HEADER: job.id})

    def result(self, request: plugin.MockRequest, job: plugin.JobSnapshot) -> plugin.MockResponse:
        if job.state in ("queued", "running"):
            return plugin.MockResponse(400, {"detail": _STILL_RUNNING}, {_REQUEST_ID_HEADER: job.id})
        failure = _failure(job)
        if failure is not None or job.video is None:
            native = failure or plugin.NativeError(500, "internal_server_error", "Internal server error")
            body, headers = self._error_body(native, self.contracts.get(job.provider))
            return plugin.MockResponse(native.http_status or 500, body, {**headers, _REQUEST_ID_HEADER: job.id})
        video = job.video
        output = {
            "video": {
                "url": video.url,
                "content_type": video.content_type,
                "file_name": video.file_name,
                "file_size": video.file_size,
                "width": video.width,
                "height": video.height,
                "fps": video.fps,
                "duration": video.duration,
                "num_frames": video.num_frames,
            },
            "seed": job.seed,
            "actual_prompt": self._prompt(job),
        }
        return plugin.MockResponse(200, output, {_REQUEST_ID_HEADER: job.id})

    def cancel(self, request: plugin.MockRequest, job: plugin.JobSnapshot, accepted: bool) -> plugin.MockResponse:
        if accepted:
            return plugin.MockResponse(202, {"status": "CANCELLATION_REQUESTED"}, {_REQUEST_ID_HEADER: job.id})
        contract = self.contracts.get(job.provider)
        entry = contract.error("ALREADY_COMPLETED") if contract else None
        status = entry["http_status"] if entry else 400
        return plugin.MockResponse(status, {"status": "ALREADY_COMPLETED"}, {_REQUEST_ID_HEADER: job.id})

    # --- status stream and webhooks ----------------------------------------------------------------
    def stream_open(self, request: plugin.MockRequest, job: plugin.JobSnapshot) -> plugin.MockResponse:
        headers = {"content-type": _EVENT_STREAM, "cache-control": "no-cache", _REQUEST_ID_HEADER: job.id}
        return plugin.MockResponse(200, None, headers)

    def stream_event(
        self, request: plugin.MockRequest, job: plugin.JobSnapshot, previous: plugin.JobSnapshot | None = None
    ) -> plugin.StreamEvent:
        """The status body, with only the log lines written since ``previous`` (the last event sent): fal's
        ``@fal-ai/client`` appends each event's ``logs`` to those it has ("accumulate logs to match previous
        polling behavior", libs/client/src/queue.ts ``subscribeToStatus``), so a line sent twice shows twice.
        Nothing (empty data) while neither the status, the queue position nor the logs have anything new."""
        body = self.status(request, job).body
        if previous is not None:
            logs = body.get("logs")
            if isinstance(logs, list) and previous.logs:
                body = {**body, "logs": logs[len(previous.logs) :]}
            unchanged = _word(job) == _word(previous) and job.queue_position == previous.queue_position
            if unchanged and not body.get("logs"):
                return plugin.StreamEvent(b"")
        data = json.dumps(body, separators=(",", ":")).encode()
        return plugin.StreamEvent(b"data: " + data + b"\n\n", final=body["status"] == "COMPLETED")

    def stream_keepalive(self, request: plugin.MockRequest) -> bytes:
        return _KEEPALIVE

    def upload_storage(self, *, cap_bytes: int) -> FalStorage:
        from .storage import FalStorage  # the mock's side only: anyio, files on disk

        return FalStorage(cap_bytes=cap_bytes)

    def webhook_signer(self) -> FalWebhookSigner:
        return FalWebhookSigner()

    def webhook(self, request: plugin.MockRequest, job: plugin.JobSnapshot, result: plugin.MockResponse) -> dict[str, Any]:
        body: dict[str, Any] = {"request_id": job.id, "gateway_request_id": job.id}
        if 200 <= result.status < 300:
            body.update(status="OK", payload=result.body)
        else:
            body.update(status="ERROR", error=f"Invalid status code: {result.status}", payload=result.body)
        return body

    # --- helpers ----------------------------------------------------------------------------------
    def _urls(self, request: plugin.MockRequest, job: plugin.JobSnapshot) -> dict[str, str]:
        contract = self.contracts.get(job.provider) or next(iter(self.contracts.values()))
        table = contract.transport["routes"]

        def url(action: str) -> str:
            path = str(table[action]["path"])
            return request.base_url.rstrip("/") + path.replace("{request_id}", job.id)

        return {
            "request_id": job.id,
            "response_url": url("result"),
            "status_url": url("status"),
            "cancel_url": url("cancel"),
        }

    def _prompt(self, job: plugin.JobSnapshot) -> str:
        """The prompt as sent (fal's tokens such as ``Character1`` included), else the canonical one."""
        contract = self.contracts.get(job.provider)
        field = contract.wire_fields.get("prompt", "prompt") if contract else "prompt"
        node: Any = job.wire
        for part in field.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        return str(node) if isinstance(node, str) else job.request.prompt

    def _catalogued(self, kind: str) -> plugin.NativeError | None:
        for contract in self.contracts.values():
            for entry in contract.data["errors"]:
                if entry["kind"] == kind:
                    return plugin.NativeError(entry["http_status"], entry["code"], entry["message"])
        return None

    def _entry(self, code: str, contract: plugin.Contract | None = None) -> dict[str, Any] | None:
        for candidate in [contract] if contract else list(self.contracts.values()):
            entry = candidate.error(code)
            if entry is not None:
                return entry
        return None

    def _error_body(self, native: plugin.NativeError, contract: plugin.Contract | None = None) -> tuple[Any, dict[str, str]]:
        """A native error in the catalogue's shape: model error (detail list), request error or plain detail."""
        entry = self._entry(native.code, contract) or (self._entry(native.code) if contract else None)
        template = entry.get("body") if entry else None
        if isinstance(template, dict) and isinstance(template.get("detail"), list) and template["detail"]:
            item = copy.deepcopy(template["detail"][0])
            item["msg"] = native.message
            item["type"] = native.code
            item.pop("input", None)
            return {"detail": [item]}, {}
        if isinstance(template, dict) and "status" in template and "detail" not in template:
            return copy.deepcopy(template), {}
        status = native.http_status or 500
        request_error = (isinstance(template, dict) and "error_type" in template) or (template is None and status >= 499)
        if request_error:
            return {"detail": native.message, "error_type": native.code}, {_ERROR_TYPE_HEADER: native.code}
        return {"detail": native.message}, {}


def _word(job: plugin.JobSnapshot) -> str:
    return {"queued": "IN_QUEUE", "running": "IN_PROGRESS"}.get(job.state, "COMPLETED")


def _failure(job: plugin.JobSnapshot) -> plugin.NativeError | None:
    if job.state == "cancelled":
        return CANCELLED
    if job.state == "failed":
        return job.error or plugin.NativeError(500, "internal_server_error", "Internal server error")
    return None


def _logs(job: plugin.JobSnapshot) -> list[dict[str, str]]:
    """Each line with the time it was written (the engine's ``log_times``; else when the run started)."""
    at = job.started_at if job.started_at is not None else job.created_at
    times = job.log_times
    return [
        {"message": line, "level": "INFO", "source": "user", "timestamp": _stamp(times[i] if i < len(times) else at)}
        for i, line in enumerate(job.logs)
    ]


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat()


def _pydantic_message(native: plugin.NativeError, violation: plugin.Violation) -> str:
    """The native message as pydantic v2 words it (``…, not 4`` for lists, ``Value error, …``)."""
    message = native.message
    if native.code in ("too_long", "too_short") and isinstance(violation.value, int) and not isinstance(violation.value, bool):
        message = f"{message}, not {violation.value}"
    elif native.code == "value_error" and not message.startswith("Value error"):
        message = f"Value error, {message}"
    return message


def _template_item(contract: plugin.Contract, code: str) -> dict[str, Any]:
    entry = contract.error(code)
    detail = entry.get("body", {}).get("detail") if entry else None
    return dict(detail[0]) if isinstance(detail, list) and detail and isinstance(detail[0], dict) else {}


def _loc(path: str) -> list[str | int]:
    """A dotted wire path as pydantic's ``loc``: list positions are integers."""
    return [int(p) if p.isdigit() else p for p in path.split(".")] if path and path != "body" else []
