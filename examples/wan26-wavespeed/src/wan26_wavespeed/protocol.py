"""WaveSpeed's prediction API from the client side (sans-IO): where the id, the video and the errors sit.

Shapes (contract ``wavespeed/r2v``, sources there): every answer is an envelope ``{code, message, data}``;
``data`` is the prediction ``{id, status, outputs[], error, ...}``. A failed prediction carries only a message
in ``data.error``, which the catalogue names ``prediction_failed``. An error is ``{code, message}`` with the
HTTP status as ``code``; the official SDK also reads such an error from a 200 answer (its upload API does that).
"""

from __future__ import annotations

from typing import Any

from wan26core import plugin

__all__ = ["FAILED_CODE", "WaveSpeedClientProtocol"]

#: the catalogue's name for a prediction that ended as failed (WaveSpeed sends a message, no code)
FAILED_CODE = "prediction_failed"


def _data(body: Any) -> dict[str, Any] | None:
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, dict) else None


class WaveSpeedClientProtocol(plugin.ContractClientProtocol):
    """The contract's routes and statuses, plus WaveSpeed's ``data`` envelope."""

    def job_id_of(self, body: Any) -> Any:
        data = _data(body)
        return data.get("id") if data is not None else None

    def video_of(self, body: Any) -> plugin.VideoResult | None:
        data = _data(body)
        outputs = data.get("outputs") if data is not None else None
        if isinstance(outputs, list) and outputs and isinstance(outputs[0], str):
            return plugin.VideoResult(url=outputs[0], raw=body)
        return None

    def native_error_of(self, body: Any, http_status: int | None) -> plugin.NativeError | None:
        if not isinstance(body, dict):
            return None
        data = _data(body)
        if data is not None and data.get("status") == "failed":
            return plugin.NativeError(http_status, FAILED_CODE, str(data.get("error") or "the prediction failed"))
        code, message = body.get("code"), body.get("message")
        if code is None and message is None:
            return None
        return plugin.NativeError(http_status, str(code if code is not None else http_status), str(message or ""))

    def error_in_success(self, body: Any) -> plugin.NativeError | None:
        code = body.get("code") if isinstance(body, dict) else None
        if isinstance(code, int) and not isinstance(code, bool) and code >= 400 and _data(body) is None:
            return plugin.NativeError(code, str(code), str(body.get("message") or ""))
        return None
