"""The official python fal-client, unchanged, on fal-ai/wan/v2.7/reference-to-video and image-to-video over HTTPS.

The 2.7 apps carry the ``fal-ai/`` owner, so fal-client sends submit to the full path and status/result to the app's
``/fal-ai/wan/requests/{id}`` routes; the mock must serve exactly those.
"""

from __future__ import annotations

from typing import Any

import pytest
from compatkit import RunClient, download_video, journal

from wan26_mock.serve import MockServer


@pytest.fixture(scope="module")
def flow(run_client: RunClient) -> dict[str, Any]:
    return run_client("fal27_flow.py", "fal")


def test_subscribe_reference_to_video(flow: dict[str, Any], tls_mock: MockServer) -> None:
    video = flow["r2v_subscribed"]["video"]
    assert (video["width"], video["height"], video["duration"]) == (1280, 720, 5.0)
    data, probed = download_video(tls_mock, video["url"])
    assert len(data) == video["file_size"] and probed == (1280, 720, 5.0)
    kinds = flow["r2v_updates"]
    assert kinds[-1] == "Completed" and "InProgress" in kinds

    request_id = video["url"].split("/")[-2]
    entries = journal(tls_mock, job_id=request_id)
    assert (entries[0]["action"], entries[0]["path"]) == ("submit", "/fal-ai/wan/v2.7/reference-to-video")
    assert entries[0]["body"]["duration"] == 5 and entries[0]["body"]["reference_video_urls"]
    assert {e["path"] for e in entries if e["action"] == "status"} == {f"/fal-ai/wan/requests/{request_id}/status"}
    assert any(e["action"] == "result" and e["path"] == f"/fal-ai/wan/requests/{request_id}" for e in entries)


def test_submit_status_result_image_to_video_first_and_last_frame(flow: dict[str, Any], tls_mock: MockServer) -> None:
    video = flow["i2v_result"]["video"]
    _, probed = download_video(tls_mock, video["url"])
    assert probed == (1280, 720, 3.0) == (video["width"], video["height"], video["duration"])
    assert flow["i2v_status"]["type"] == "Completed" and flow["i2v_status"]["logs"]

    entries = journal(tls_mock, job_id=flow["i2v_submitted"])
    assert (entries[0]["action"], entries[0]["path"]) == ("submit", "/fal-ai/wan/v2.7/image-to-video")
    assert {"image_url", "end_image_url"} <= set(entries[0]["body"])
    assert entries[0]["headers"]["user-agent"].startswith("fal-client/")


def test_image_to_video_with_video_url_and_image_url_is_a_422(flow: dict[str, Any]) -> None:
    refused = flow["i2v_refused"]
    assert refused is not None, "fal-client accepted video_url together with image_url"
    assert (refused["type"], refused["status"]) == ("FalClientHTTPError", 422)
    detail = refused["body"]["detail"]
    assert refused["message"] == detail  # fal-client surfaces fal's detail list as the error message
    assert [(d["loc"], d["type"]) for d in detail] == [(["body", "image_url"], "feature_not_supported")]
