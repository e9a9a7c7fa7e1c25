"""The dashscope SDK on the Wan 2.7 endpoints (input.media), configured by the environment alone; prints one JSON line.

Run by tests/compat/test_dashscope_sdk_27.py in a fresh interpreter: dashscope reads DASHSCOPE_HTTP_BASE_URL at import,
and the v2 ``Client`` falls back to the same variable.
"""

from __future__ import annotations

import json
from typing import Any

from dashscope import VideoSynthesis
from dashscope.v2 import Client, DashScopeError
from dashscope_view import view

IMAGE = "https://example.com/refs/alice.png"
VIDEO = "https://example.com/refs/bob.mp4"
LAST = "https://example.com/refs/last.png"
CLIP = "https://example.com/refs/clip.mp4"
AUDIO = "https://example.com/refs/voice.mp3"
R2V_MEDIA = [{"type": "reference_image", "url": IMAGE}, {"type": "reference_video", "url": VIDEO}]


def main() -> dict[str, Any]:
    out: dict[str, Any] = {}
    # call: submit and wait in one, r2v with one image and one video
    out["r2v_call"] = view(
        VideoSynthesis.call(
            model="wan2.7-r2v", prompt="Image 1 meets Video 1", media=R2V_MEDIA, resolution="720P", ratio="16:9", duration=5
        )
    )
    # async_call, fetch, wait: i2v from a first and a last frame
    created = VideoSynthesis.async_call(
        model="wan2.7-i2v",
        prompt="The door opens",
        media=[{"type": "first_frame", "url": IMAGE}, {"type": "last_frame", "url": LAST}],
        resolution="720P",
        duration=3,
    )
    out["i2v_created"] = view(created)
    out["i2v_fetched"] = view(VideoSynthesis.fetch(created))
    out["i2v_waited"] = view(VideoSynthesis.wait(created))
    # call: i2v from a first frame with driving audio
    out["i2v_audio"] = view(
        VideoSynthesis.call(
            model="wan2.7-i2v",
            prompt="She sings",
            media=[{"type": "first_frame", "url": IMAGE}, {"type": "driving_audio", "url": AUDIO}],
            resolution="720P",
            duration=2,
        )
    )
    # refusals: 12 s with a reference video (2-10 s then), a first frame together with a first clip
    out["r2v_too_long"] = view(
        VideoSynthesis.async_call(model="wan2.7-r2v", prompt="Image 1 meets Video 1", media=R2V_MEDIA, duration=12)
    )
    out["i2v_frame_and_clip"] = view(
        VideoSynthesis.async_call(
            model="wan2.7-i2v",
            prompt="It goes on",
            media=[{"type": "first_frame", "url": IMAGE}, {"type": "first_clip", "url": CLIP}],
        )
    )

    # the v2 client: videos.generate (submit + wait) with image_url as the first-frame shorthand, then a refusal
    client = Client()
    job = client.videos.generate(
        model="wan2.7-i2v",
        prompt="The door opens",
        image_url=IMAGE,
        media=[{"type": "last_frame", "url": LAST}],
        resolution="720P",
        duration=2,
        poll_interval=0.2,
        max_interval=0.5,
        timeout=60,
    )
    out["v2_generated"] = {"task_id": job.task_id, "status": job.status, "video_url": job.video_url}
    try:
        client.videos.jobs.create(
            model="wan2.7-i2v", image_url=IMAGE, media=[{"type": "first_clip", "url": CLIP}], resolution="720P"
        )
        out["v2_refused"] = None
    except DashScopeError as exc:
        out["v2_refused"] = {
            "type": type(exc).__name__,
            "status_code": getattr(exc, "status_code", None),
            "code": getattr(exc, "code", None),
            "message": str(exc),
        }
    return out


if __name__ == "__main__":
    print(json.dumps(main()))
