"""The dashscope SDK, unchanged, against the mock over HTTPS: DASHSCOPE_HTTP_BASE_URL, DASHSCOPE_API_KEY and the CA only."""

from __future__ import annotations

from typing import Any

import pytest
from compatkit import RunClient, download_video, journal

from wan26_mock.serve import MockServer

CREATE = "/api/v1/services/aigc/video-generation/video-synthesis"


@pytest.fixture(scope="module")
def flow(run_client: RunClient) -> dict[str, Any]:
    return run_client("dashscope_flow.py", "dashscope")


def test_async_call_fetch_and_wait(flow: dict[str, Any], tls_mock: MockServer) -> None:
    created, fetched, waited = flow["created"], flow["fetched"], flow["waited"]
    assert created["status_code"] == 200 and created["task_status"] == "PENDING"
    assert fetched["task_id"] == created["task_id"] and fetched["task_status"] in ("PENDING", "RUNNING")
    assert waited["task_status"] == "SUCCEEDED" and waited["usage"]["video_count"] == 1
    data, probed = download_video(tls_mock, waited["video_url"])
    assert data[4:8] == b"ftyp" and probed == (1280, 720, 5.0)

    entries = journal(tls_mock, job_id=created["task_id"])
    submit = entries[0]
    assert (submit["action"], submit["method"], submit["path"]) == ("submit", "POST", CREATE)
    assert submit["headers"]["x-dashscope-async"] == "enable"
    assert submit["headers"]["authorization"] == "Bearer REDACTED"
    assert submit["body"]["model"] == "wan2.6-r2v" and submit["body"]["parameters"]["size"] == "1280*720"
    polls = entries[1:]
    assert polls and {(e["method"], e["path"]) for e in polls} == {("GET", f"/api/v1/tasks/{created['task_id']}")}
    assert polls[-1]["response"]["output"]["task_status"] == "SUCCEEDED"


def test_cancel_a_pending_task(flow: dict[str, Any], tls_mock: MockServer) -> None:
    assert flow["held"]["task_status"] == "PENDING"
    assert flow["cancelled"]["status_code"] == 200
    assert flow["after_cancel"]["task_status"] == "CANCELED"
    cancels = journal(tls_mock, job_id=flow["held"]["task_id"], action="cancel")
    assert [(e["method"], e["path"], e["status"]) for e in cancels] == [
        ("POST", f"/api/v1/tasks/{flow['held']['task_id']}/cancel", 200)
    ]


def test_a_rejected_request_reaches_the_sdk_as_its_native_error(flow: dict[str, Any]) -> None:
    rejected = flow["rejected"]
    assert (rejected["status_code"], rejected["code"]) == (400, "InvalidParameter")
    assert rejected["task_id"] is None and rejected["message"]
