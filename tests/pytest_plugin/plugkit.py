"""What the plugin's tests share: a request every built-in R2V endpoint accepts, and how it renders."""

from __future__ import annotations

from typing import Any

REQUEST: dict[str, Any] = {
    "prompt": "@cat waves at @dog",
    "references": [
        {"name": "cat", "source": "https://example.com/cat.mp4"},
        {"name": "dog", "source": "https://example.com/dog.mp4"},
    ],
    "duration": 5,
}
VIDEOS = ["https://example.com/cat.mp4", "https://example.com/dog.mp4"]
FAL_APP = "wan/v2.6/reference-to-video/flash"
FAL_ARGUMENTS: dict[str, Any] = {"prompt": "Character1 waves", "video_urls": VIDEOS[:1], "resolution": "720p", "duration": "5"}
