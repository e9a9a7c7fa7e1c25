"""Vtrix's task API from the client side (sans-IO).

Shapes: the vtrix contract's examples (``id``/``status``, ``output[].content[]`` with the video URL,
``error{code,message}``); a refused request may come back as HTTP 200 with ``status: failed`` and an
``error`` but no task ``id`` (the 0010280xx validation codes).
"""

from __future__ import annotations

from typing import Any

from wan26core import plugin

__all__ = ["VtrixClientProtocol"]


class VtrixClientProtocol(plugin.ContractClientProtocol):
    """Vtrix: status and result share one GET route; no cancel route is documented."""

    def error_in_success(self, body: Any) -> plugin.NativeError | None:
        if isinstance(body, dict) and "id" not in body and body.get("status") == "failed":
            return self.native_error_of(body, None)
        return None

    def video_of(self, body: Any) -> plugin.VideoResult | None:
        outputs = body.get("output") if isinstance(body, dict) else None
        for output in outputs if isinstance(outputs, list) else []:
            for item in output.get("content", []) if isinstance(output, dict) else []:
                if isinstance(item, dict) and item.get("type") == "video" and isinstance(item.get("url"), str):
                    duration = item.get("duration")
                    return plugin.VideoResult(
                        url=item["url"],
                        duration=float(duration) if isinstance(duration, (int, float)) else None,
                        raw=body,
                    )
        return None
