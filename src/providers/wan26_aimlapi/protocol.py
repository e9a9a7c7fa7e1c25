"""AI/ML API's video generations from the client side (sans-IO).

Shapes: the aimlapi contracts' examples (``id``/``status``/``video.url``, the ``{message, statusCode}``
error body, ``Body validation error!`` for refused bodies).
"""

from __future__ import annotations

from typing import Any

from wan26core import plugin

__all__ = ["AimlapiClientProtocol"]

_VALIDATION = "Body validation error"


class AimlapiClientProtocol(plugin.ContractClientProtocol):
    """AI/ML API: one GET route (``?generation_id=``) answers both status and result."""

    def video_of(self, body: Any) -> plugin.VideoResult | None:
        video = body.get("video") if isinstance(body, dict) else None
        if not isinstance(video, dict) or not isinstance(video.get("url"), str):
            return None
        return plugin.VideoResult(url=video["url"], content_type=video.get("content_type") or "video/mp4", raw=body)

    def native_error_of(self, body: Any, http_status: int | None) -> plugin.NativeError | None:
        if not isinstance(body, dict):
            return None
        error = body.get("error")
        if isinstance(error, dict):  # a failed generation: {"name", "message"}
            return plugin.NativeError(http_status, str(error.get("name") or "error"), str(error.get("message") or ""))
        message = body.get("message")
        if not isinstance(message, str):
            return super().native_error_of(body, http_status)
        if message.startswith(_VALIDATION):
            return plugin.NativeError(http_status, "Body validation error!", message)
        code = body.get("statusCode") or http_status
        return plugin.NativeError(http_status, str(code), message)
