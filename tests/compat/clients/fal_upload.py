"""fal-client's uploads against the mock: the documented redirection of its two storage hosts, then ``upload_file``.

fal-client has no setting for its storage hosts: ``REST_URL = "https://rest.fal.ai"`` and
``CDN_URL = "https://v3.fal.media"`` are constants of ``fal_client/client.py``, read at call time. Pointing those
two names at the mock (here, the host of FAL_QUEUE_RUN_HOST) is the whole redirection; nothing else changes.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import fal_client
import fal_client.client

MOCK = f"https://{os.environ['FAL_QUEUE_RUN_HOST']}"
fal_client.client.REST_URL = MOCK  # storage tokens and upload initiation
fal_client.client.CDN_URL = MOCK  # the CDN upload itself


def main(folder: Path) -> dict[str, Any]:
    image = folder / "first frame.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    return {
        "cdn": fal_client.upload_file(image),  # repository fal_v3: token, then POST /files/upload
        "storage": fal_client.upload(b"plain text", "text/plain", file_name="notes.txt", repository="fal"),  # initiate + PUT
        "sent": {"size": image.stat().st_size, "name": image.name},
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())))
