"""fal-client on the Wan 2.7 endpoints (fal-ai/wan/v2.7/...), configured by the environment alone; prints one JSON line.

Run by tests/compat/test_fal_client_27.py in a fresh interpreter: fal-client reads FAL_QUEUE_RUN_HOST at import.
"""

from __future__ import annotations

import json
from typing import Any

import fal_client

R2V = "fal-ai/wan/v2.7/reference-to-video"
I2V = "fal-ai/wan/v2.7/image-to-video"
R2V_ARGUMENTS = {
    "prompt": "Image 1 meets Video 1",
    "reference_image_urls": ["https://example.com/refs/alice.png"],
    "reference_video_urls": ["https://example.com/refs/bob.mp4"],
    "resolution": "720p",
    "aspect_ratio": "16:9",
    "duration": 5,
}
I2V_ARGUMENTS = {
    "prompt": "The door opens",
    "image_url": "https://example.com/refs/first.png",
    "end_image_url": "https://example.com/refs/last.png",
    "resolution": "720p",
    "duration": 3,
}


def main() -> dict[str, Any]:
    out: dict[str, Any] = {}
    updates: list[str] = []
    out["r2v_subscribed"] = fal_client.subscribe(
        R2V, arguments=R2V_ARGUMENTS, on_queue_update=lambda u: updates.append(type(u).__name__)
    )
    out["r2v_updates"] = updates

    handle = fal_client.submit(I2V, arguments=I2V_ARGUMENTS)
    out["i2v_submitted"] = handle.request_id
    out["i2v_result"] = fal_client.result(I2V, handle.request_id)
    status = fal_client.status(I2V, handle.request_id, with_logs=True)
    out["i2v_status"] = {
        "type": type(status).__name__,
        "logs": [entry["message"] for entry in getattr(status, "logs", None) or []],
    }

    try:
        fal_client.subscribe(I2V, arguments={**I2V_ARGUMENTS, "video_url": "https://example.com/refs/clip.mp4"})
        out["i2v_refused"] = None
    except fal_client.FalClientHTTPError as exc:
        out["i2v_refused"] = {
            "type": type(exc).__name__,
            "status": exc.status_code,
            "message": exc.message,
            "body": exc.response.json(),
        }
    return out


if __name__ == "__main__":
    print(json.dumps(main()))
