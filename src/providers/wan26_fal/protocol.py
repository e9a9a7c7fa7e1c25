"""fal's queue API from the client side (sans-IO): ids and URLs from the submit answer, logs, the SSE stream.

Shapes: the fal contracts' examples and fal-client's parsing (``fal_client/client.py``: ``request_id``,
``status_url``/``response_url``/``cancel_url``, ``logs`` as ``[{message, level, …}]``).
"""

from __future__ import annotations

import os
from collections.abc import Generator, Mapping
from typing import Any

from wan26core import plugin

__all__ = ["FalClientProtocol"]

#: fal-client's REST host for storage (``fal_client/client.py``: ``REST_URL``)
REST_URL = "https://rest.fal.ai"
_CANCELLED_TYPES = {"client_cancelled", "request_cancelled"}


class FalClientProtocol(plugin.ContractClientProtocol):
    """fal: status/result/cancel URLs come from the submit answer; a failure is a COMPLETED status with an error."""

    def job_id_of(self, body: Any) -> Any:
        return body.get("request_id") if isinstance(body, dict) else None

    def urls_of(self, body: Any) -> dict[str, str]:
        names = {"status_url": "status", "response_url": "result", "cancel_url": "cancel"}
        urls = {ours: body[theirs] for theirs, ours in names.items() if isinstance(body.get(theirs), str)}
        if "status" in urls:
            urls["stream"] = urls["status"] + "/stream"
        return urls

    def status_call(self, ref: plugin.JobRef, *, key: str, base_url: str) -> plugin.HttpCall:
        call = super().status_call(ref, key=key, base_url=base_url)
        return plugin.HttpCall(call.method, _with_query(call.url, "logs=1"), call.headers)

    def stream_call(self, ref: plugin.JobRef, *, key: str, base_url: str) -> plugin.HttpCall | None:
        url = ref.urls.get("stream") or self.route_url("stream", base_url, request_id=ref.job_id)
        return plugin.HttpCall("GET", _with_query(url, "logs=1"), {**self.auth_headers(key), "Accept": "text/event-stream"})

    def status_from_body(self, body: Any, ref: plugin.JobRef) -> plugin.JobStatus:
        status = super().status_from_body(body, ref)
        if status.native == "COMPLETED" and isinstance(body, dict) and body.get("error"):
            error_type = str(body.get("error_type") or "")
            native = plugin.NativeError(None, error_type or "error", str(body["error"]))
            state: plugin.JobState = "cancelled" if error_type in _CANCELLED_TYPES else "failed"
            error = plugin.error_for(self.contract, native, job_id=ref.job_id, generation=True)
            return plugin.JobStatus(state, status.native, None, status.progress, status.logs, error, None, body)
        return status

    def logs_of(self, body: Any) -> tuple[str, ...]:
        logs = body.get("logs") if isinstance(body, dict) else None
        if not isinstance(logs, list):
            return ()
        return tuple(str(item.get("message", "")) for item in logs if isinstance(item, dict))

    def video_of(self, body: Any) -> plugin.VideoResult | None:
        video = body.get("video") if isinstance(body, dict) else None
        if not isinstance(video, dict) or not isinstance(video.get("url"), str):
            return None
        return plugin.VideoResult(
            url=video["url"],
            content_type=video.get("content_type"),
            file_size=_int(video.get("file_size")),
            width=_int(video.get("width")),
            height=_int(video.get("height")),
            fps=_float(video.get("fps")),
            duration=_float(video.get("duration")),
            num_frames=_int(video.get("num_frames")),
            seed=_int(body.get("seed")),
            raw=body,
        )

    def parse_result(self, reply: plugin.HttpReply, ref: plugin.JobRef) -> plugin.VideoResult:
        if not reply.ok:
            if reply.status in (404, 401, 403, 429) or (reply.status >= 500 and not reply.headers.get("x-fal-error-type")):
                raise self.error_from(reply, job_id=ref.job_id)
            raise self.error_from(reply, job_id=ref.job_id, generation=True)  # the request ran and failed
        return super().parse_result(reply, ref)

    def upload_op(
        self, data: bytes, content_type: str, file_name: str, *, key: str, base_url: str, policy: plugin.RetryPolicy
    ) -> Generator[Any, Any, str]:
        """fal's CDN upload, as fal-client does it: a short-lived token from the REST host, then the bytes.

        The REST host is ``WAN26_FAL_REST_URL``, else the queue base URL when it was redirected (the
        mock serves both), else ``https://rest.fal.ai``.
        """

        rest = os.environ.get("WAN26_FAL_REST_URL") or (base_url if base_url != self.contract.transport["base_url"] else REST_URL)
        token_call = plugin.HttpCall(
            "POST",
            rest.rstrip("/") + "/storage/auth/token?storage_type=fal-cdn-v3",
            {**self.auth_headers(key), "Accept": "application/json"},
            json={},
        )
        reply = yield from plugin.send_op(token_call, policy)
        token = self._success_body(reply)
        if not isinstance(token, dict) or not all(isinstance(token.get(k), str) for k in ("token", "token_type", "base_url")):
            raise plugin.MalformedResponseError("fal's storage token answer lacks token, token_type or base_url")
        upload = plugin.HttpCall(
            "POST",
            token["base_url"].rstrip("/") + "/files/upload",
            {
                "Authorization": f"{token['token_type']} {token['token']}",
                "Content-Type": content_type,
                "X-Fal-File-Name": file_name,
            },
            content=data,
            idempotent=False,
        )
        reply = yield from plugin.send_op(upload, policy)
        body = self._success_body(reply)
        url = body.get("access_url") if isinstance(body, dict) else None
        if not isinstance(url, str):
            raise plugin.MalformedResponseError("fal's upload answer has no access_url")
        return url

    def verify_webhook(
        self, headers: Mapping[str, str], body: bytes, jwks: Mapping[str, Any], *, tolerance_s: float, now: float | None
    ) -> Any:
        """fal's webhook signature (:func:`wan26_fal.webhooks.verify_webhook`), for ``wan26core.verify_webhook``."""
        from .webhooks import verify_webhook

        return verify_webhook(headers, body, jwks, tolerance_s=tolerance_s, now=now)

    def native_error_of(self, body: Any, http_status: int | None) -> plugin.NativeError | None:
        if not isinstance(body, dict):
            return None
        detail = body.get("detail")
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):
            first = detail[0]
            where = ".".join(str(p) for p in first.get("loc", []) if p != "body")
            message = str(first.get("msg", ""))
            return plugin.NativeError(
                http_status, str(first.get("type", "validation_error")), f"{where}: {message}" if where else message
            )
        if isinstance(detail, str):
            return plugin.NativeError(http_status, str(body.get("error_type") or http_status), detail)
        if isinstance(body.get("status"), str) and http_status is not None and http_status >= 400:
            return plugin.NativeError(http_status, body["status"], body["status"].replace("_", " ").lower())
        return super().native_error_of(body, http_status)


def _with_query(url: str, query: str) -> str:
    return url + ("&" if "?" in url else "?") + query


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
