"""The AI/ML API SDK (aimlapi-sdk-python), unchanged, against the mock over HTTPS: AIML_API_BASE, AIML_API_KEY, the CA."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from compatkit import RunClient, download_video, journal

from wan26_mock.serve import MockServer


@pytest.fixture(scope="module")
def flow(run_client: RunClient) -> dict[str, Any]:
    return run_client("aimlapi_flow.py", "aimlapi")


def test_generate_with_polling_reaches_completed(flow: dict[str, Any], tls_mock: MockServer) -> None:
    assert flow["base_url"] == f"{tls_mock.base_url}/v1/"
    final = flow["final"]
    assert final["status"] == "completed" and final["error"] is None and final["meta"]["usage"]["credits_used"] > 0
    statuses = [s["status"] for s in flow["seen"]]
    assert statuses[0] == "queued" and statuses[-1] == "completed" and "generating" in statuses
    assert {s["id"] for s in flow["seen"]} == {final["id"]}
    data, probed = download_video(tls_mock, final["video"]["url"])
    assert probed == (1280, 720, 5.0)
    # return_bytes=True: the SDK downloaded the same file itself, over HTTPS, trusting the CA through SSL_CERT_FILE
    assert flow["bytes"] == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "box": "ftyp"}

    entries = journal(tls_mock, job_id=final["id"])
    submit = entries[0]
    assert (submit["action"], submit["method"], submit["path"]) == ("submit", "POST", "/v2/video/generations")
    assert submit["body"]["model"] == "alibaba/wan-2-6-r2v" and submit["body"]["video_urls"] == [
        "https://example.com/refs/bob.mp4"
    ]
    assert submit["headers"]["authorization"] == "Bearer REDACTED"
    polls = entries[1:]
    assert len(polls) == len(statuses) - 1  # one callback per poll, plus the one for the create response
    assert {(e["method"], e["path"], e["query"]["generation_id"]) for e in polls} == {
        ("GET", "/v2/video/generations", final["id"])
    }
