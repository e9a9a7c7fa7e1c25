"""What an outside review of Wan 2.7 on the mock found, each pinned: the media rules the client applies are the mock's
too, a voice belongs to a reference item, a model rule fails as pydantic's value_error on fal, and a huge URL costs a
job kilobytes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

import wan26_dashscope
import wan26_fal
from mockkit import mock_client

FAL = {"Authorization": "Key mock-key"}
DASHSCOPE = {"Authorization": "Bearer mock-key", "X-DashScope-Async": "enable"}
SYNTHESIS = "/api/v1/services/aigc/video-generation/video-synthesis"
I2V = "/fal-ai/wan/v2.7/image-to-video"
R2V = "/fal-ai/wan/v2.7/reference-to-video"
IMAGE = "https://example.com/a.png"


@pytest.fixture
def client() -> Iterator[TestClient]:
    with mock_client(wan26_fal, wan26_dashscope) as test_client:
        yield test_client


def jobs(client: TestClient) -> list[dict[str, Any]]:
    listing: list[dict[str, Any]] = client.get("/__wan26__/jobs").json()["jobs"]
    return listing


@pytest.mark.parametrize(
    ("path", "headers", "body"),
    [
        (I2V, FAL, {"prompt": "x"}),
        (I2V, FAL, {"prompt": "x", "audio_url": "https://example.com/a.mp3"}),
        (
            SYNTHESIS,
            DASHSCOPE,
            {
                "model": "wan2.7-i2v",
                "input": {"prompt": "x", "media": [{"type": "driving_audio", "url": "https://example.com/a.mp3"}]},
            },
        ),
    ],
)
def test_image_to_video_without_a_start_is_refused_as_the_client_refuses_it(
    client: TestClient, path: str, headers: dict[str, str], body: dict[str, Any]
) -> None:
    answer = client.post(path, json=body, headers=headers)
    assert 400 <= answer.status_code < 500, answer.text
    assert jobs(client) == []


def test_a_voice_on_a_first_frame_item_is_refused_not_lost(client: TestClient) -> None:
    media = [
        {"type": "first_frame", "url": IMAGE, "reference_voice": "https://example.com/v.mp3"},
        {"type": "reference_image", "url": IMAGE},
    ]
    answer = client.post(
        SYNTHESIS, json={"model": "wan2.7-r2v", "input": {"prompt": "Image 1 waves", "media": media}}, headers=DASHSCOPE
    )
    assert answer.status_code == 400 and answer.json()["code"] == "InvalidParameter"
    assert jobs(client) == []


def test_a_model_rule_on_fal_is_a_pydantic_value_error_not_a_wan26_rule_name(client: TestClient) -> None:
    body = {"prompt": "Image 1", "reference_image_urls": [IMAGE] * 3, "reference_video_urls": ["https://example.com/v.mp4"] * 3}
    answer = client.post(R2V, json=body, headers=FAL)
    assert answer.status_code == 422
    (item,) = answer.json()["detail"]
    assert item["type"] == "value_error" and item["msg"].startswith("Value error, 6 references in total")


def test_a_huge_url_costs_a_job_its_head_and_digest_only(client: TestClient) -> None:
    huge = "https://example.com/" + "a" * 2_000_000 + ".png"
    body = {"model": "wan2.7-r2v", "input": {"prompt": "Image 1 waves", "media": [{"type": "reference_image", "url": huge}]}}
    assert client.post(SYNTHESIS, json=body, headers=DASHSCOPE).status_code == 200
    (job,) = jobs(client)
    kept = str(job)
    assert len(kept) < 20_000 and "2000024 characters; sha256=" in kept
