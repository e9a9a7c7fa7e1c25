"""The AI/ML API SDK (aimlapi-sdk-python) against the mock, configured by the environment alone (AIML_API_BASE, AIML_API_KEY).

Run by tests/compat/test_aimlapi_sdk.py in a fresh interpreter; prints what it saw as one JSON line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aimlapi import AIMLAPI

MODEL = "alibaba/wan-2-6-r2v"
# generate_with_polling takes no reference arguments: the R2V fields go in extra_body (aimlapi/resources/videos.py)
REFERENCES = {"video_urls": ["https://example.com/refs/bob.mp4"], "resolution": "720p"}


def main() -> dict[str, Any]:
    client = AIMLAPI()
    seen: list[dict[str, Any]] = []

    def callback(payload: Mapping[str, Any]) -> None:
        seen.append({"id": payload.get("id"), "status": payload.get("status")})

    common: dict[str, Any] = {
        "model": MODEL,
        "prompt": "character1 waves",
        "duration": 5,
        "poll_interval": 0.05,
        "extra_body": REFERENCES,
    }
    with ThreadPoolExecutor(2) as pool:  # two jobs side by side: the JSON result, and the bytes the SDK downloads itself
        as_json = pool.submit(client.videos.generate_with_polling, status_callback=callback, **common)
        as_bytes = pool.submit(client.videos.generate_with_polling, return_bytes=True, **common)
        final, data = as_json.result(), as_bytes.result()
    assert isinstance(data, bytes)
    return {
        "base_url": str(client.base_url),
        "final": final,
        "seen": seen,
        "bytes": {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "box": data[4:8].decode("latin-1")},
    }


if __name__ == "__main__":
    print(json.dumps(main()))
