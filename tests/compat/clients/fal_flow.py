"""fal-client against the mock, configured by the environment alone; prints what it saw as one JSON line.

Run by tests/compat/test_fal_client.py in a fresh interpreter: fal-client reads FAL_QUEUE_RUN_HOST at import.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import fal_client

APP = "wan/v2.6/reference-to-video/flash"
ARGUMENTS = {
    "prompt": "Character1 waves at the camera",
    "video_urls": ["https://example.com/refs/bob.mp4"],
    "resolution": "720p",
    "aspect_ratio": "16:9",
    "duration": "5",
}
STUCK = {"X-Wan26-Mock-Scenario": "stuck"}  # the job stays queued until cancelled


def describe(status: fal_client.Status) -> dict[str, Any]:
    view: dict[str, Any] = {"type": type(status).__name__}
    for name in ("position", "metrics", "error", "error_type"):
        if hasattr(status, name):
            view[name] = getattr(status, name)
    if getattr(status, "logs", None) is not None:
        view["logs"] = [entry["message"] for entry in status.logs]  # type: ignore[union-attr]
    return view


def main() -> dict[str, Any]:
    out: dict[str, Any] = {}
    updates: list[dict[str, Any]] = []
    with ThreadPoolExecutor(1) as pool:
        # subscribe (in the background): the queue updates it reports on the way
        subscribed = pool.submit(
            fal_client.subscribe, APP, arguments=ARGUMENTS, with_logs=True, on_queue_update=lambda u: updates.append(describe(u))
        )
        # submit, then result (which waits) and status with logs once it is done
        handle = fal_client.submit(APP, arguments=ARGUMENTS)
        out["submitted"] = handle.request_id
        out["result"] = fal_client.result(APP, handle.request_id)
        out["status_with_logs"] = describe(fal_client.status(APP, handle.request_id, with_logs=True))
        out["status_without_logs"] = describe(fal_client.status(APP, handle.request_id, with_logs=False))
        out["subscribed"] = subscribed.result()
    out["updates"] = updates

    # cancel: a job held in the queue, then a job that is already done
    held = fal_client.submit(APP, arguments=ARGUMENTS, headers=STUCK)
    out["held"] = held.request_id
    out["held_status"] = describe(held.status(with_logs=True))
    fal_client.cancel(APP, held.request_id)
    out["after_cancel"] = describe(fal_client.status(APP, held.request_id))
    try:
        fal_client.cancel(APP, handle.request_id)
        out["cancel_done"] = None
    except fal_client.FalClientHTTPError as exc:
        out["cancel_done"] = {"status": exc.status_code, "message": exc.message}
    return out


if __name__ == "__main__":
    print(json.dumps(main()))
