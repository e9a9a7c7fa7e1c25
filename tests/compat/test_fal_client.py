"""The official python fal-client, unchanged, against the mock over HTTPS: FAL_QUEUE_RUN_HOST, FAL_KEY and the CA only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from compatkit import RunClient, download_video, journal, trusting

from wan26_mock.serve import MockServer

STATUS = "/wan/v2.6/requests/{}/status"


@pytest.fixture(scope="module")
def flow(run_client: RunClient) -> dict[str, Any]:
    return run_client("fal_flow.py", "fal")


def test_submit_result_and_status_with_logs(flow: dict[str, Any], tls_mock: MockServer) -> None:
    video = flow["result"]["video"]
    assert (video["width"], video["height"], video["duration"]) == (1280, 720, 5.0)
    data, probed = download_video(tls_mock, video["url"])
    assert len(data) == video["file_size"] and probed == (1280, 720, 5.0)

    done = flow["status_with_logs"]
    assert done["type"] == "Completed" and done["error"] is None
    assert done["logs"] and done["logs"][-1] == "Encoding video"
    assert done["metrics"]["inference_time"] > 0
    assert flow["status_without_logs"]["logs"] == []

    entries = journal(tls_mock, job_id=flow["submitted"])
    assert entries[0]["action"] == "submit" and entries[0]["path"] == "/wan/v2.6/reference-to-video/flash"
    assert entries[0]["headers"]["authorization"] == "Key REDACTED"
    assert entries[0]["headers"]["user-agent"].startswith("fal-client/")
    polls = [e for e in entries if e["action"] == "status"]
    assert {e["path"] for e in polls} == {STATUS.format(flow["submitted"])}
    assert {"true", "false"} <= {e["query"].get("logs") for e in polls}  # fal-client sends logs=true|false
    assert any(e["action"] == "result" and e["status"] == 200 for e in entries)


def test_subscribe_reports_queue_updates_until_completed(flow: dict[str, Any], tls_mock: MockServer) -> None:
    updates = flow["updates"]
    kinds = [u["type"] for u in updates]
    phases = ["Queued", "InProgress", "Completed"]
    assert kinds[-1] == "Completed" and "InProgress" in kinds
    assert kinds == sorted(kinds, key=phases.index)  # queued, then in progress, then completed: never back
    positions = [u["position"] for u in updates if u["type"] == "Queued"]
    assert positions == sorted(positions, reverse=True)  # the queue position only falls
    assert all(u["logs"] for u in updates if u["type"] == "InProgress")  # subscribe(with_logs=True)
    subscribed = flow["subscribed"]["video"]
    _, probed = download_video(tls_mock, subscribed["url"])
    assert probed == (subscribed["width"], subscribed["height"], subscribed["duration"])


def test_cancel_a_queued_request_and_refuse_a_finished_one(flow: dict[str, Any], tls_mock: MockServer) -> None:
    assert flow["held_status"]["type"] == "Queued"
    cancelled = flow["after_cancel"]
    assert (cancelled["type"], cancelled["error_type"], cancelled["error"]) == (
        "Completed",
        "client_cancelled",
        "Request cancelled by the client.",
    )
    cancels = journal(tls_mock, job_id=flow["held"], action="cancel")
    assert [(e["method"], e["status"], e["response"]) for e in cancels] == [("PUT", 202, {"status": "CANCELLATION_REQUESTED"})]
    assert flow["cancel_done"]["status"] == 400
    refused = journal(tls_mock, job_id=flow["submitted"], action="cancel")
    assert [(e["status"], e["response"]["status"]) for e in refused] == [(400, "ALREADY_COMPLETED")]


def test_upload_file_through_the_documented_storage_redirection(
    run_client: RunClient, tls_mock: MockServer, tmp_path: Path
) -> None:
    uploaded = run_client("fal_upload.py", "fal", args=[str(tmp_path)])
    sent = (tmp_path / uploaded["sent"]["name"]).read_bytes()
    ctx = trusting(tls_mock)
    for key, expected, kind in (("cdn", sent, "image/png"), ("storage", b"plain text", "text/plain")):
        url = uploaded[key]
        assert url.startswith(f"{tls_mock.base_url}/files/")
        response = httpx.get(url, verify=ctx, timeout=10)
        assert (response.status_code, response.content, response.headers["content-type"]) == (200, expected, kind)
    assert uploaded["cdn"].endswith("/first_frame.png")  # the X-Fal-File-Name the client sent, made URL-safe

    calls = [
        (e["method"], e["path"], e["query"].get("storage_type"), e["headers"].get("authorization")) for e in journal(tls_mock)
    ]
    cdn_path = uploaded["cdn"][len(tls_mock.base_url) :]
    storage_path = uploaded["storage"][len(tls_mock.base_url) :]
    assert ("POST", "/storage/auth/token", "fal-cdn-v3", "Key REDACTED") in calls
    assert ("POST", "/files/upload", None, "Bearer REDACTED") in calls  # with the CDN token, not the key
    assert ("POST", "/storage/upload/initiate", "gcs", "Key REDACTED") in calls
    assert any(c[:2] == ("PUT", storage_path) for c in calls)
    assert cdn_path.startswith("/files/")
