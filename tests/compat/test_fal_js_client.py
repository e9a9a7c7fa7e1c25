"""The JavaScript ``@fal-ai/client`` in streaming mode against the mock: each log line once, as a poll shows them.

Opt-in: set ``WAN26_FAL_JS`` to a folder where ``npm install @fal-ai/client`` ran (the tests never fetch it).
The client appends each stream event's ``logs`` to those it holds (``subscribeToStatus``, "accumulate logs to match
previous polling behavior"), so the mock's events must carry only the lines that are new.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from wan26_mock.serve import MockServer

SCRIPT = Path(__file__).parent / "clients" / "fal_js_stream.cjs"
FOLDER = os.environ.get("WAN26_FAL_JS", "")

pytestmark = pytest.mark.skipif(
    not FOLDER or shutil.which("node") is None,
    reason="opt-in: WAN26_FAL_JS=<folder with node_modules/@fal-ai/client> and node on PATH",
)


def test_streaming_subscribe_ends_with_each_log_line_once(tls_mock: MockServer) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "WAN26_FAL_JS": FOLDER, **tls_mock.env("fal")}
    done = subprocess.run(["node", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    updates, polled = result["updates"], result["polled_logs"]
    assert [u["status"] for u in updates][-1] == "COMPLETED" and "IN_PROGRESS" in {u["status"] for u in updates}
    shown = updates[-1]["logs"]  # what onQueueUpdate saw last: the client's accumulated list
    assert shown == polled and len(polled) >= 5
    messages = [line["message"] for line in shown]
    assert len(set(messages)) == len(messages) and messages[-1] == "Encoding video"
    assert len({line["timestamp"] for line in shown}) == len(shown)
