"""The dashscope SDK 2.x, unchanged, on wan2.7-r2v and wan2.7-i2v (media in input.media) against the mock over HTTPS.

Both the 1.x-style ``VideoSynthesis`` (call, async_call + fetch + wait) and the v2 ``Client().videos`` are driven to a
video that downloads; the refusals reach the SDK as DashScope's own InvalidParameter.
"""

from __future__ import annotations

import io
from typing import Any

import av
import pytest
from compatkit import RunClient, download_video, journal

from wan26_mock.serve import MockServer

CREATE = "/api/v1/services/aigc/video-generation/video-synthesis"


@pytest.fixture(scope="module")
def flow(run_client: RunClient) -> dict[str, Any]:
    return run_client("dashscope27_flow.py", "dashscope")


def submitted(mock: MockServer, task_id: str) -> dict[str, Any]:
    """The body the SDK posted for ``task_id`` (after checking it was the async submit)."""
    submit = journal(mock, job_id=task_id)[0]
    assert (submit["action"], submit["method"], submit["path"]) == ("submit", "POST", CREATE)
    assert submit["headers"]["x-dashscope-async"] == "enable"
    body: dict[str, Any] = submit["body"]
    return body


def test_call_r2v_with_an_image_and_a_video_in_media(flow: dict[str, Any], tls_mock: MockServer) -> None:
    done = flow["r2v_call"]
    assert (done["status_code"], done["task_status"]) == (200, "SUCCEEDED")
    assert done["usage"]["video_count"] == 1 and done["usage"]["duration"] == 5
    data, probed = download_video(tls_mock, done["video_url"])
    assert data[4:8] == b"ftyp" and probed == (1280, 720, 5.0)

    body = submitted(tls_mock, done["task_id"])
    assert body["model"] == "wan2.7-r2v"
    assert body["input"]["prompt"] == "Image 1 meets Video 1"
    assert [m["type"] for m in body["input"]["media"]] == ["reference_image", "reference_video"]
    assert body["parameters"] == {"resolution": "720P", "ratio": "16:9", "duration": 5}
    # VideoSynthesis also puts input.extend_prompt and input.function, which no 2.7 page lists: the mock ignores them
    assert set(body["input"]) - {"prompt", "media"} <= {"extend_prompt", "function"}


def test_async_call_fetch_and_wait_i2v_first_and_last_frame(flow: dict[str, Any], tls_mock: MockServer) -> None:
    created, fetched, waited = flow["i2v_created"], flow["i2v_fetched"], flow["i2v_waited"]
    assert created["status_code"] == 200 and created["task_status"] == "PENDING"
    assert fetched["task_id"] == created["task_id"] and fetched["task_status"] in ("PENDING", "RUNNING")
    assert waited["task_status"] == "SUCCEEDED"
    _, probed = download_video(tls_mock, waited["video_url"])
    assert probed == (1280, 720, 3.0)

    body = submitted(tls_mock, created["task_id"])
    assert body["model"] == "wan2.7-i2v"
    assert [(m["type"], m["url"].rsplit("/", 1)[-1]) for m in body["input"]["media"]] == [
        ("first_frame", "alice.png"),
        ("last_frame", "last.png"),
    ]
    polls = journal(tls_mock, job_id=created["task_id"])[1:]
    assert polls and {(e["method"], e["path"]) for e in polls} == {("GET", f"/api/v1/tasks/{created['task_id']}")}


def test_call_i2v_with_driving_audio_gives_a_video_with_sound(flow: dict[str, Any], tls_mock: MockServer) -> None:
    done = flow["i2v_audio"]
    assert done["task_status"] == "SUCCEEDED"
    data, probed = download_video(tls_mock, done["video_url"])
    assert probed == (1280, 720, 2.0)
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.audio, "a driving_audio request gave a silent video"
    body = submitted(tls_mock, done["task_id"])
    assert [m["type"] for m in body["input"]["media"]] == ["first_frame", "driving_audio"]


def test_r2v_longer_than_10s_with_a_reference_video_is_invalid_parameter(flow: dict[str, Any]) -> None:
    refused = flow["r2v_too_long"]
    assert (refused["status_code"], refused["code"], refused["task_id"]) == (400, "InvalidParameter", None)
    assert "parameters.duration" in refused["message"]


def test_i2v_with_a_first_frame_and_a_first_clip_is_invalid_parameter(flow: dict[str, Any]) -> None:
    refused = flow["i2v_frame_and_clip"]
    assert (refused["status_code"], refused["code"], refused["task_id"]) == (400, "InvalidParameter", None)
    assert "input.media" in refused["message"]


def test_v2_client_videos_generate_and_its_refusal(flow: dict[str, Any], tls_mock: MockServer) -> None:
    job = flow["v2_generated"]
    assert job["status"] == "SUCCEEDED"
    _, probed = download_video(tls_mock, job["video_url"])
    assert probed == (1280, 720, 2.0)
    body = submitted(tls_mock, job["task_id"])
    # image_url is the v2 client's shorthand: it becomes the first media item
    assert [m["type"] for m in body["input"]["media"]] == ["first_frame", "last_frame"]
    assert body["parameters"] == {"resolution": "720P", "duration": 2}

    refused = flow["v2_refused"]
    assert refused is not None, "the v2 client accepted a first frame with a first clip"
    assert (refused["type"], refused["status_code"], refused["code"]) == ("BadRequestError", 400, "InvalidParameter")
