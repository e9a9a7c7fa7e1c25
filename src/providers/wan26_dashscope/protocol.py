"""DashScope's asynchronous tasks from the client side (sans-IO).

Shapes: the dashscope contracts' examples (``output.task_id``/``output.task_status``,
``output.video_url``, failures as ``output.code``/``output.message``, errors as top-level
``code``/``message`` with ``request_id``).
"""

from __future__ import annotations

from typing import Any

from wan26core import plugin

__all__ = ["DashScopeClientProtocol"]


class DashScopeClientProtocol(plugin.ContractClientProtocol):
    """DashScope: the task id is ``output.task_id``; cancel only while PENDING."""

    def job_id_of(self, body: Any) -> Any:
        output = body.get("output") if isinstance(body, dict) else None
        return output.get("task_id") if isinstance(output, dict) else None

    def video_of(self, body: Any) -> plugin.VideoResult | None:
        output = body.get("output") if isinstance(body, dict) else None
        if not isinstance(output, dict) or not isinstance(output.get("video_url"), str):
            return None
        usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
        size = usage.get("size")
        width = height = None
        if isinstance(size, str) and "*" in size:
            w, _, h = size.partition("*")
            width, height = (int(w), int(h)) if w.isdigit() and h.isdigit() else (None, None)
        duration = usage.get("output_video_duration") or usage.get("duration")
        return plugin.VideoResult(
            url=output["video_url"],
            width=width,
            height=height,
            duration=float(duration) if isinstance(duration, (int, float)) else None,
            raw=body,
        )

    def native_error_of(self, body: Any, http_status: int | None) -> plugin.NativeError | None:
        output = body.get("output") if isinstance(body, dict) else None
        if isinstance(output, dict) and output.get("code"):  # a failed task
            return plugin.NativeError(http_status, str(output["code"]), str(output.get("message") or ""))
        return super().native_error_of(body, http_status)
