"""What the dashscope client scripts print of an SDK response (imported beside them: a script's folder is on its path)."""

from __future__ import annotations

from typing import Any

__all__ = ["view"]


def view(response: Any) -> dict[str, Any]:
    output = response.output or {}
    return {
        "status_code": response.status_code,
        "code": response.code,
        "message": response.message,
        "request_id": response.request_id,
        "task_id": output.get("task_id"),
        "task_status": output.get("task_status"),
        "video_url": output.get("video_url"),
        "usage": dict(response.usage) if response.usage else None,
    }
