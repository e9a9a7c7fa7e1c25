"""The AI/ML API dialect driven through the real mock engine, in process."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import av
import pytest
from starlette.testclient import TestClient

import wan26_aimlapi
from mockkit import CANARY, SCENARIO, advance, mock_client
from wan26core._dialect import Dialect

AUTH = {"authorization": f"Bearer {CANARY}"}
PATH = "/v2/video/generations"
R2V: dict[str, Any] = {
    "model": "alibaba/wan-2-6-r2v",
    "prompt": "character1 dances in the rain",
    "video_urls": ["https://example.com/dancer.mp4"],
    "resolution": "720p",
    "aspect_ratio": "16:9",
    "duration": 5,
}
I2V: dict[str, Any] = {
    "model": "alibaba/wan-2-6-i2v",
    "prompt": "Mona Lisa puts on glasses with her hands.",
    "image_url": "https://example.com/monalisa.jpeg",
    "resolution": "720p",
    "duration": 5,
}
ERROR_KEYS = {"message", "path", "requestId", "statusCode", "timestamp"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with mock_client(wan26_aimlapi, output_dir=tmp_path_factory.mktemp("wan26_aimlapi-out")) as test_client:
        yield test_client


def submit(client: TestClient, body: dict[str, Any] | None = None, *, scenario: str | None = None) -> Any:
    headers = {**AUTH, **({SCENARIO: scenario} if scenario else {})}
    return client.post(PATH, json=R2V if body is None else body, headers=headers)


def poll(client: TestClient, generation_id: str, *, scenario: str | None = None) -> Any:
    headers = {**AUTH, **({SCENARIO: scenario} if scenario else {})}
    return client.get(PATH, params={"generation_id": generation_id}, headers=headers)


def test_the_plugin_attaches_one_dialect() -> None:
    assert isinstance(wan26_aimlapi.DIALECT, Dialect)
    assert wan26_aimlapi.DIALECT.provider == "aimlapi"
    routes = {(r.method, r.path, r.action) for r in wan26_aimlapi.DIALECT.routes()}
    assert routes == {("POST", PATH, "submit"), ("GET", PATH, "status")}


def test_create_answers_queued_with_credits(client: TestClient) -> None:
    response = submit(client)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "status", "meta"}
    assert body["status"] == "queued"
    assert body["meta"] == {"usage": {"credits_used": 1575000}}  # 5 s x 315000, as in the documented i2v example


def test_the_default_duration_bills_like_the_documented_example(client: TestClient) -> None:
    body = {k: v for k, v in R2V.items() if k != "duration"}
    assert submit(client, body).json()["meta"] == {"usage": {"credits_used": 3150000}}


@pytest.mark.parametrize(("body", "size"), [(R2V, (1280, 720)), (I2V, (1280, 720))], ids=["r2v", "i2v"])
def test_a_generation_runs_to_completion_with_a_real_video(
    client: TestClient, body: dict[str, Any], size: tuple[int, int]
) -> None:
    generation_id = submit(client, body).json()["id"]
    queued = poll(client, generation_id).json()
    assert queued == {"id": generation_id, "status": "queued", "video": None, "error": None, "meta": queued["meta"]}
    advance(client, 0.5)
    running = poll(client, generation_id).json()
    assert running["status"] == "generating"
    assert running["video"] is None and running["error"] is None
    advance(client, 5)
    done = poll(client, generation_id)
    assert done.status_code == 200
    result = done.json()
    assert set(result) == {"id", "status", "video", "error", "meta"}
    assert result["status"] == "completed"
    assert result["error"] is None
    assert set(result["video"]) == {"url"}
    video = client.get(result["video"]["url"])
    assert video.status_code == 200
    with av.open(io.BytesIO(video.content)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == size
        assert container.duration / 1_000_000 == pytest.approx(5, abs=0.2)


def test_an_invalid_enum_answers_the_documented_400(client: TestClient) -> None:
    response = submit(client, {**R2V, "resolution": "480p"})
    assert response.status_code == 400
    body = response.json()
    assert set(body) == ERROR_KEYS
    documented = wan26_aimlapi.DIALECT.contracts["aimlapi/r2v"].error("Body validation error!")
    assert documented is not None
    assert body["message"] == documented["body"]["message"]
    assert body["statusCode"] == "400"
    assert body["path"] == PATH


def test_every_violation_is_folded_into_the_message(client: TestClient) -> None:
    urls = [f"https://example.com/v{i}.mp4" for i in range(4)]
    response = submit(client, {**R2V, "video_urls": urls, "duration": 15, "prompt": "character1 to character4 dance"})
    assert response.status_code == 400
    lines = response.json()["message"].split("\n")
    assert lines[0] == "Body validation error"
    assert "Invalid enum value. Expected 5 | 10, received 15" in lines
    assert any("at most 3" in line for line in lines)


def test_an_unknown_model_is_a_400(client: TestClient) -> None:
    response = submit(client, {**R2V, "model": "alibaba/wan-9"})
    assert response.status_code == 400
    message = response.json()["message"]
    assert message.startswith("Body validation error\nInvalid enum value. Expected ")
    assert "'alibaba/wan-2-6-r2v'" in message and "received 'alibaba/wan-9'" in message


def test_malformed_json_is_a_native_400(client: TestClient) -> None:
    response = client.post(PATH, content=b'{"model": ', headers={**AUTH, "content-type": "application/json"})
    assert response.status_code == 400
    assert set(response.json()) == ERROR_KEYS
    assert response.json()["message"].startswith("Body validation error")


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer  ", "Basic abc", "Key canary-secret-123"])
def test_missing_or_malformed_bearer_is_401(client: TestClient, header: str | None) -> None:
    headers = {} if header is None else {"authorization": header}
    response = client.post(PATH, json=R2V, headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["statusCode"] == "401"
    assert body["message"].startswith("This request requires a valid API key.")
    generation_id = submit(client).json()["id"]
    assert client.get(PATH, params={"generation_id": generation_id}, headers=headers).status_code == 401


def test_an_unknown_generation_is_404(client: TestClient) -> None:
    response = poll(client, "F4ydZjZhuZFinNQMnQleh")
    assert response.status_code == 404
    assert set(response.json()) == ERROR_KEYS
    assert response.json()["statusCode"] == "404"


def test_a_poll_without_generation_id_is_refused(client: TestClient) -> None:
    response = client.get(PATH, headers=AUTH)
    assert response.status_code == 400
    assert set(response.json()) == ERROR_KEYS


def test_generation_failed_scenario_reports_an_error_status(client: TestClient) -> None:
    generation_id = submit(client, scenario="generation_failed:error").json()["id"]
    advance(client, 5)
    body = poll(client, generation_id).json()
    assert body["status"] == "error"
    assert body["video"] is None
    assert body["error"]["name"] == "error"
    assert body["error"]["message"]


def test_rate_limited_scenario_is_429_with_retry_after(client: TestClient) -> None:
    response = submit(client, scenario="rate_limited:3")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert (body["statusCode"], body["message"]) == ("429", "Too Many Requests")


def test_server_error_scenario_is_in_the_error_shape(client: TestClient) -> None:
    response = poll(client, submit(client).json()["id"], scenario="server_error:503")
    assert response.status_code == 503
    assert response.json()["message"] == "Service unavailable"
    assert response.json()["statusCode"] == "503"


def test_the_journal_never_holds_the_key(client: TestClient) -> None:
    poll(client, submit(client).json()["id"])
    client.post(PATH, content=b"{", headers=AUTH)
    journal = client.get("/__wan26__/journal")
    assert journal.status_code == 200
    assert journal.json()["entries"]
    assert CANARY not in journal.text
