"""The dashscope SDK against the mock, configured by the environment alone; prints what it saw as one JSON line.

Run by tests/compat/test_dashscope_sdk.py in a fresh interpreter: dashscope reads DASHSCOPE_HTTP_BASE_URL at import.
"""

from __future__ import annotations

import json
from typing import Any

from dashscope import VideoSynthesis
from dashscope_view import view

MODEL = "wan2.6-r2v"
VIDEO = "https://example.com/refs/bob.mp4"
STUCK = {"X-Wan26-Mock-Scenario": "stuck"}  # the task stays PENDING until cancelled


def main() -> dict[str, Any]:
    out: dict[str, Any] = {}
    created = VideoSynthesis.async_call(
        model=MODEL, prompt="character1 waves", reference_urls=[VIDEO], size="1280*720", duration=5
    )
    out["created"] = view(created)
    out["fetched"] = view(VideoSynthesis.fetch(created))
    out["waited"] = view(VideoSynthesis.wait(created))

    held = VideoSynthesis.async_call(model=MODEL, prompt="character1 waves", reference_urls=[VIDEO], headers=STUCK)
    out["held"] = view(held)
    out["cancelled"] = view(VideoSynthesis.cancel(held))
    out["after_cancel"] = view(VideoSynthesis.fetch(held))

    rejected = VideoSynthesis.async_call(model=MODEL, prompt="character1 waves", reference_urls=[VIDEO] * 4)
    out["rejected"] = view(rejected)
    return out


if __name__ == "__main__":
    print(json.dumps(main()))
