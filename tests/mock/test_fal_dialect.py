"""fal's queue dialect, driven through the real mock engine in-process (shapes as fal-client parses them)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from starlette.testclient import TestClient

import wan26_fal
from mockkit import CANARY, advance, mock_client
from wan26_fal import DIALECT, FalDialect
from wan26_mock import SCENARIO_HEADER
from wan26core import Registry
from wan26core._dialect import Dialect, StreamingDialect, WebhookDialect

KEY = CANARY
AUTH = {"Authorization": f"Key {KEY}"}
FLASH = "/wan/v2.6/reference-to-video/flash"
R2V = "/wan/v2.6/reference-to-video"
I2V = "/wan/v2.6/image-to-video"
VIDEO = "https://example.com/refs/dancer.mp4"
IMAGE = "https://example.com/refs/rival.png"
URL_KEYS = ("request_id", "response_url", "status_url", "cancel_url")


@pytest.fixture
def client() -> Iterator[TestClient]:
    with mock_client(wan26_fal) as test_client:
        yield test_client


def submit(client: TestClient, body: dict[str, Any] | None = None, path: str = FLASH, **headers: str) -> dict[str, Any]:
    body = body if body is not None else {"prompt": "Character1 dances in the rain.", "video_urls": [VIDEO]}
    response = client.post(path, json=body, headers={**AUTH, **headers})
    assert response.status_code == 200, response.text
    assert response.headers["x-fal-request-id"] == response.json()["request_id"]
    data: dict[str, Any] = response.json()
    return data


def status(client: TestClient, job: dict[str, Any], query: str = "") -> Any:
    return client.get(job["status_url"] + query, headers=AUTH)


# --- wiring ---------------------------------------------------------------------------------------


def test_one_dialect_for_all_models_with_routes_from_the_contracts() -> None:
    assert isinstance(DIALECT, Dialect)
    assert isinstance(DIALECT, StreamingDialect) and isinstance(DIALECT, WebhookDialect)  # the optional parts
    assert DIALECT.provider == "fal"
    routes = {(r.method, r.path): r.action for r in DIALECT.routes()}
    assert routes == {
        ("POST", FLASH): "submit",
        ("POST", R2V): "submit",
        ("POST", I2V): "submit",
        ("GET", "/wan/v2.6/requests/{request_id}/status"): "status",
        ("GET", "/wan/v2.6/requests/{request_id}/status/stream"): "stream",
        ("GET", "/wan/v2.6/requests/{request_id}"): "result",
        ("PUT", "/wan/v2.6/requests/{request_id}/cancel"): "cancel",
        # Wan 2.7 lives under fal-ai/wan: its job routes are fal-ai/wan/requests/…, as fal-client builds them
        ("POST", "/fal-ai/wan/v2.7/reference-to-video"): "submit",
        ("POST", "/fal-ai/wan/v2.7/image-to-video"): "submit",
        ("GET", "/fal-ai/wan/requests/{request_id}/status"): "status",
        ("GET", "/fal-ai/wan/requests/{request_id}/status/stream"): "stream",
        ("GET", "/fal-ai/wan/requests/{request_id}"): "result",
        ("PUT", "/fal-ai/wan/requests/{request_id}/cancel"): "cancel",
    }
    registry = Registry(plugins=[wan26_fal], entry_points=False)
    dialects = {getattr(p, "dialect", None) for p in registry.providers().values()}
    assert dialects == {DIALECT}
    assert isinstance(DIALECT, FalDialect)


# --- lifecycle ------------------------------------------------------------------------------------


def test_submit_answers_in_queue_with_the_four_urls(client: TestClient) -> None:
    job = submit(client)
    request_id = job["request_id"]
    base = f"http://mock.test/wan/v2.6/requests/{request_id}"
    assert job["response_url"] == base
    assert job["status_url"] == f"{base}/status"
    assert job["cancel_url"] == f"{base}/cancel"
    assert job["status"] == "IN_QUEUE"
    assert isinstance(job["queue_position"], int)


def test_status_moves_from_queue_to_progress_to_completed(client: TestClient) -> None:
    job = submit(client)
    queued = status(client, job)
    assert queued.status_code == 202
    assert queued.headers["x-fal-request-id"] == job["request_id"]
    body = queued.json()
    assert body["status"] == "IN_QUEUE"
    assert isinstance(body["queue_position"], int)
    assert all(body[key] == job[key] for key in URL_KEYS)

    advance(client, 0.5)
    for query in ("?logs=1", "?logs=true"):
        running = status(client, job, query)
        assert running.status_code == 202
        assert running.json()["status"] == "IN_PROGRESS"
        logs = running.json()["logs"]
        assert logs, "logs were asked for"
        assert {"message", "level", "source", "timestamp"} <= set(logs[0])
        assert logs[0]["level"] == "INFO"
    for query in ("", "?logs=0", "?logs=false"):
        quiet = status(client, job, query).json()
        assert quiet["status"] == "IN_PROGRESS"
        assert quiet["logs"] == []  # fal-client reads data["logs"] even when it did not ask

    advance(client, 5)
    done = status(client, job)
    assert done.status_code == 200
    body = done.json()
    assert body["status"] == "COMPLETED"
    assert body["logs"] == []
    assert body["metrics"]["inference_time"] > 0
    assert "error" not in body
    assert status(client, job, "?logs=1").json()["logs"]


def test_result_before_completion_is_refused(client: TestClient) -> None:
    job = submit(client)
    early = client.get(job["response_url"], headers=AUTH)
    assert early.status_code == 400
    assert early.json() == {"detail": "Request is still in progress"}
    assert early.headers["x-fal-request-id"] == job["request_id"]


def _probe(client: TestClient, url: str, tmp_path: Path) -> tuple[int, int, float]:
    download = client.get(url)
    assert download.status_code == 200
    assert download.headers["content-type"] == "video/mp4"
    path = tmp_path / "out.mp4"
    path.write_bytes(download.content)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        duration = float(container.duration or 0) / 1_000_000
        return stream.codec_context.width, stream.codec_context.height, duration


@pytest.mark.parametrize(
    ("path", "body", "size", "seconds"),
    [
        (
            FLASH,
            {"prompt": "Character1 waves.", "video_urls": [VIDEO], "resolution": "720p", "aspect_ratio": "16:9"},
            (1280, 720),
            5,
        ),
        (FLASH, {"prompt": "Character1 waves.", "image_urls": [IMAGE]}, (1920, 1080), 5),
        (
            R2V,
            {"prompt": "Character1 bows.", "video_urls": [VIDEO], "resolution": "720p", "aspect_ratio": "9:16", "duration": "10"},
            (720, 1280),
            10,
        ),
    ],
    ids=["flash-720p-16:9", "flash-defaults", "r2v-720p-9:16-10s"],
)
def test_result_is_a_real_video_of_the_requested_shape(
    client: TestClient, tmp_path: Path, path: str, body: dict[str, Any], size: tuple[int, int], seconds: int
) -> None:
    job = submit(client, body, path)
    advance(client, 5)
    assert status(client, job).json()["status"] == "COMPLETED"
    result = client.get(job["response_url"], headers=AUTH)
    assert result.status_code == 200
    assert result.headers["x-fal-request-id"] == job["request_id"]
    output = result.json()
    video = output["video"]
    assert (video["width"], video["height"]) == size
    assert video["duration"] == seconds
    assert video["fps"] > 0
    assert video["num_frames"] == round(video["fps"] * seconds)
    assert video["content_type"] == "video/mp4"
    assert video["file_size"] > 0 and video["file_name"].endswith(".mp4")
    assert isinstance(output["seed"], int)
    assert output["actual_prompt"] == body["prompt"]
    width, height, duration = _probe(client, video["url"], tmp_path)
    assert (width, height) == size
    assert duration == pytest.approx(seconds, abs=0.5)


def test_seed_from_the_request_is_echoed(client: TestClient) -> None:
    job = submit(client, {"prompt": "Character1 jumps.", "video_urls": [VIDEO], "seed": 1234})
    advance(client, 5)
    assert client.get(job["response_url"], headers=AUTH).json()["seed"] == 1234


# --- refusals -------------------------------------------------------------------------------------


def test_four_videos_to_flash_is_a_422_naming_video_urls(client: TestClient) -> None:
    response = client.post(FLASH, json={"prompt": "Character1 dances.", "video_urls": [VIDEO] * 4}, headers=AUTH)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["body", "video_urls"]
    assert detail[0]["type"] == "too_long"
    assert detail[0]["msg"] == "List should have at most 3 items after validation, not 4"


def test_prompt_too_long_is_string_too_long_on_prompt(client: TestClient) -> None:
    prompt = "Character1 " + "x" * 1500
    response = client.post(FLASH, json={"prompt": prompt, "video_urls": [VIDEO]}, headers=AUTH)
    assert response.status_code == 422
    assert response.json() == {  # pydantic v2's item, as FastAPI sends it: input and ctx included
        "detail": [
            {
                "type": "string_too_long",
                "loc": ["body", "prompt"],
                "msg": "String should have at most 1500 characters",
                "input": prompt,
                "ctx": {"max_length": 1500},
            }
        ]
    }


def test_every_violation_is_reported_with_its_wire_field(client: TestClient) -> None:
    body = {"prompt": "Character1 " + "x" * 1500, "video_urls": [VIDEO] * 4, "resolution": "4k", "negative_prompt": "n" * 501}
    response = client.post(FLASH, json=body, headers=AUTH)
    assert response.status_code == 422
    found = {(tuple(d["loc"]), d["type"]) for d in response.json()["detail"]}
    assert {
        (("body", "prompt"), "string_too_long"),
        (("body", "negative_prompt"), "string_too_long"),
        (("body", "video_urls"), "too_long"),
        (("body", "resolution"), "enum"),
    } <= found
    enum = next(d for d in response.json()["detail"] if d["type"] == "enum")
    assert enum["msg"] == "Input should be '720p' or '1080p'"


def test_too_many_references_in_total_is_a_model_level_value_error(client: TestClient) -> None:
    response = client.post(
        FLASH, json={"prompt": "Character1.", "video_urls": [VIDEO] * 3, "image_urls": [IMAGE] * 3}, headers=AUTH
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [d["loc"] for d in detail] == [["body"]]
    assert detail[0]["type"] == "value_error"
    assert detail[0]["msg"].startswith("Value error, ")


def test_missing_prompt_and_first_frame_on_i2v(client: TestClient) -> None:
    response = client.post(I2V, json={"resolution": "720p"}, headers=AUTH)
    assert response.status_code == 422
    locs = [d["loc"] for d in response.json()["detail"]]
    assert ["body", "prompt"] in locs
    assert all(d["type"] == "missing" for d in response.json()["detail"])


def test_a_bad_reference_url_names_its_list(client: TestClient) -> None:
    body = {"prompt": "Character1 and Character2.", "video_urls": [VIDEO], "image_urls": ["ftp://example.com/a.png"]}
    response = client.post(FLASH, json=body, headers=AUTH)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["body", "image_urls"]
    assert detail[0]["type"] == "file_download_error"
    assert detail[0]["url"] == "https://docs.fal.ai/errors/#file_download_error"


def test_standard_r2v_without_a_video_is_too_short(client: TestClient) -> None:
    response = client.post(R2V, json={"prompt": "Character1 bows.", "video_urls": []}, headers=AUTH)
    assert response.status_code == 422
    [item] = response.json()["detail"]
    assert (item["loc"], item["type"]) == (["body", "video_urls"], "too_short")
    assert item["msg"] == "List should have at least 1 item after validation, not 0"
    response = client.post(R2V, json={"prompt": "Character1 bows."}, headers=AUTH)  # absent: a required field
    assert response.status_code == 422
    [item] = response.json()["detail"]
    assert (item["loc"], item["type"], item["msg"]) == (["body", "video_urls"], "missing", "Field required")


NOT_AN_OBJECT = "Input should be a valid dictionary or object to extract fields from"


@pytest.mark.parametrize("path", [FLASH, R2V, I2V])
@pytest.mark.parametrize(
    ("body", "kind", "message"),
    [
        (b"{not json", "json_invalid", "JSON decode error"),  # FastAPI: a JSONDecodeError while reading the body
        (b"prompt=hello", "json_invalid", "JSON decode error"),
        (b'["Character1 dances.", "https://example.com/refs/dancer.mp4"]', "model_attributes_type", NOT_AN_OBJECT),
        (b'"Character1 dances."', "model_attributes_type", NOT_AN_OBJECT),  # pydantic v2: not a dict for the input model
    ],
)
def test_a_body_that_is_not_a_json_object_is_fastapis_422(
    client: TestClient, path: str, body: bytes, kind: str, message: str
) -> None:
    response = client.post(path, content=body, headers={**AUTH, "content-type": "application/json"})
    assert response.status_code == 422
    assert response.json() == {"detail": [{"loc": ["body"], "msg": message, "type": kind}]}
    assert "String should have" not in response.text  # not the catalogue's first validation error any more


@pytest.mark.parametrize("header", [None, "Bearer abc", "Key ", "key-without-scheme"])
def test_missing_or_malformed_auth_is_401(client: TestClient, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = client.post(FLASH, json={"prompt": "Character1.", "video_urls": [VIDEO]}, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": "No user found for Key ID and Secret"}


def test_key_id_and_secret_are_accepted(client: TestClient) -> None:
    response = client.post(
        FLASH, json={"prompt": "Character1.", "video_urls": [VIDEO]}, headers={"Authorization": "Key key-id:key-secret"}
    )
    assert response.status_code == 200


def test_status_needs_a_key_too(client: TestClient) -> None:
    job = submit(client)
    assert client.get(job["status_url"]).status_code == 401


# --- cancel, unknown ids --------------------------------------------------------------------------


def test_cancel_while_queued_then_status_reports_the_cancellation(client: TestClient) -> None:
    job = submit(client)
    cancelled = client.put(job["cancel_url"], headers=AUTH)
    assert cancelled.status_code == 202
    assert cancelled.json() == {"status": "CANCELLATION_REQUESTED"}
    after = status(client, job)
    assert after.status_code == 200
    body = after.json()
    assert body["status"] == "COMPLETED"
    assert body["error_type"] == "client_cancelled"
    assert body["error"]
    assert body["logs"] == []
    result = client.get(job["response_url"], headers=AUTH)
    assert result.status_code == 499
    assert result.json()["error_type"] == "client_cancelled"
    assert result.headers["x-fal-error-type"] == "client_cancelled"
    again = client.put(job["cancel_url"], headers=AUTH)
    assert (again.status_code, again.json()) == (400, {"status": "ALREADY_COMPLETED"})


def test_cancel_after_completion_is_already_completed(client: TestClient) -> None:
    job = submit(client)
    advance(client, 5)
    response = client.put(job["cancel_url"], headers=AUTH)
    assert response.status_code == 400
    assert response.json() == {"status": "ALREADY_COMPLETED"}


def test_unknown_request_id_is_404(client: TestClient) -> None:
    base = "/wan/v2.6/requests/00000000-0000-4000-8000-000000000000"
    status_response = client.get(f"{base}/status", headers=AUTH)
    assert status_response.status_code == 404
    assert status_response.json() == {"detail": "Request not found"}
    assert client.get(base, headers=AUTH).status_code == 404
    cancel = client.put(f"{base}/cancel", headers=AUTH)
    assert (cancel.status_code, cancel.json()) == (404, {"status": "NOT_FOUND"})


# --- scenarios ------------------------------------------------------------------------------------


def test_rate_limited_scenario_is_429_with_retry_after(client: TestClient) -> None:
    response = client.post(
        FLASH, json={"prompt": "Character1.", "video_urls": [VIDEO]}, headers={**AUTH, SCENARIO_HEADER: "rate_limited:2"}
    )
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.json() == {"detail": "Too many requests"}


def test_server_error_scenario_is_a_request_error_with_its_type_header(client: TestClient) -> None:
    response = client.post(
        FLASH, json={"prompt": "Character1.", "video_urls": [VIDEO]}, headers={**AUTH, SCENARIO_HEADER: "server_error:503"}
    )
    assert response.status_code == 503
    body = response.json()
    assert body["error_type"] == response.headers["x-fal-error-type"]
    assert isinstance(body["detail"], str)


def test_generation_failed_is_completed_with_an_error(client: TestClient) -> None:
    job = submit(client, None, FLASH, **{SCENARIO_HEADER: "generation_failed"})
    advance(client, 5)
    response = status(client, job)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "COMPLETED"
    assert body["error_type"] == "no_media_generated"
    assert body["error"] == "The model did not generate the expected output for this prompt."
    assert body["logs"] == []
    result = client.get(job["response_url"], headers=AUTH)
    assert result.status_code == 422
    detail = result.json()["detail"]
    assert detail[0]["type"] == "no_media_generated"
    assert detail[0]["loc"] == ["body"]


def test_content_policy_failure_uses_the_model_error_shape(client: TestClient) -> None:
    job = submit(client, None, FLASH, **{SCENARIO_HEADER: "content_policy"})
    advance(client, 5)
    assert status(client, job).json()["error_type"] == "content_policy_violation"
    result = client.get(job["response_url"], headers=AUTH)
    assert result.status_code == 422
    assert result.json()["detail"][0]["loc"] == ["body", "prompt"]


def test_journal_redacts_the_key(client: TestClient) -> None:
    job = submit(client)
    status(client, job, "?logs=true")
    client.put(job["cancel_url"], headers=AUTH)
    journal = client.get("/__wan26__/journal")
    assert journal.status_code == 200
    text = json.dumps(journal.json())
    assert KEY not in text
    entries = journal.json()["entries"]
    assert len(entries) == 3
    assert {e["action"] for e in entries} == {"submit", "status", "cancel"}
