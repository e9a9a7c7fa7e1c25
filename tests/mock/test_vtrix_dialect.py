"""The Vtrix dialect driven through the real mock engine, in process."""

from __future__ import annotations

import copy
import io
from collections.abc import Iterator
from typing import Any

import av
import pytest
from starlette.testclient import TestClient

import wan26_vtrix
from mockkit import CANARY, SCENARIO, advance, mock_client
from wan26core import NativeError, Violation
from wan26core._dialect import Dialect, MockRequest

AUTH = {"authorization": f"Bearer {CANARY}"}
SUBMIT = "/model/v1/generation"
TASK = "/model/v1/generation/task/{}"
BODY: dict[str, Any] = {
    "model": "wan26_r2v",
    "input": {
        "prompt": "character1 is talking with character2 in the garden",
        "reference_urls": ["https://example.com/char1.jpg", "https://example.com/char2.mp4"],
    },
    "parameters": {"size": "1280*720", "duration": 5, "seed": 12345},
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with mock_client(wan26_vtrix, output_dir=tmp_path_factory.mktemp("wan26_vtrix-out")) as test_client:
        yield test_client


def body_with(references: list[str]) -> dict[str, Any]:
    body = copy.deepcopy(BODY)
    body["input"]["reference_urls"] = references
    body["input"]["prompt"] = " ".join(f"character{i + 1}" for i in range(len(references))) + " dance"
    return body


def videos(n: int) -> list[str]:
    return [f"https://example.com/v{i}.mp4" for i in range(n)]


def images(n: int) -> list[str]:
    return [f"https://example.com/i{i}.png" for i in range(n)]


def submit(client: TestClient, body: dict[str, Any] | None = None, *, scenario: str | None = None) -> Any:
    headers = {**AUTH, **({SCENARIO: scenario} if scenario else {})}
    return client.post(SUBMIT, json=BODY if body is None else body, headers=headers)


def test_the_plugin_attaches_one_dialect() -> None:
    assert isinstance(wan26_vtrix.DIALECT, Dialect)
    assert wan26_vtrix.DIALECT.provider == "vtrix"
    paths = {(r.method, r.path, r.action) for r in wan26_vtrix.DIALECT.routes()}
    assert paths == {("POST", SUBMIT, "submit"), ("GET", "/model/v1/generation/task/{task_id}", "status")}


def test_create_answers_in_progress_with_the_documented_fields(client: TestClient) -> None:
    response = submit(client)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "status", "model", "created_at"}
    assert body["status"] == "in_progress"
    assert body["model"] == "wan26_r2v"
    assert isinstance(body["created_at"], int)


def test_a_task_runs_to_completion_with_a_real_video(client: TestClient) -> None:
    task_id = submit(client).json()["id"]
    first = client.get(TASK.format(task_id), headers=AUTH).json()
    assert first["status"] == "in_progress"
    assert first["progress"] == 0.0
    advance(client, 0.5)
    running = client.get(TASK.format(task_id), headers=AUTH).json()
    assert running["status"] == "in_progress"
    assert 0.0 < running["progress"] < 1.0
    assert "output" not in running and "error" not in running
    advance(client, 5)
    done = client.get(TASK.format(task_id), headers=AUTH)
    assert done.status_code == 200
    body = done.json()
    assert body["status"] == "completed"
    assert "progress" not in body and "error" not in body
    assert set(body) == {"id", "status", "model", "created_at", "output", "usage", "metadata"}
    content = body["output"][0]["content"][0]
    assert content["type"] == "video"
    assert content["duration"] == 5
    assert content["jobId"]
    assert body["usage"] == {"cost": "0", "discount": 0}  # wan26_r2v's price is undocumented (contract pricing)
    video = client.get(content["url"])
    assert video.status_code == 200
    with av.open(io.BytesIO(video.content)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (1280, 720)
        assert container.duration / 1_000_000 == pytest.approx(5, abs=0.2)


@pytest.mark.parametrize(
    ("references", "code"),
    [
        (videos(4), "001028003"),
        (videos(3) + images(3), "001028001"),
        (videos(4) + images(2), "001028001"),  # the video rule fires too; the count answers first
        (images(6), "001028001"),  # the image rule fires too; the count answers first
        ([], "001028001"),
        (["ftp://example.com/a.png"], "001028004"),
        ([*videos(4), "ftp://example.com/a.png"], "001028003"),  # counts before URL format
    ],
)
def test_reference_violations_answer_the_native_code(client: TestClient, references: list[str], code: str) -> None:
    response = submit(client, body_with(references))
    # catalogued with no HTTP status: the error arrives inside a 200 body
    assert response.status_code == 200
    assert response.json() == {"status": "failed", "error": {"code": code, "message": response.json()["error"]["message"]}}
    entry = wan26_vtrix.DIALECT.contracts["vtrix/r2v"].error(code)
    assert entry is not None
    assert response.json()["error"]["message"] == entry["message"]


def test_an_image_only_violation_is_001028002() -> None:
    # Unreachable through the engine while total.max == image.max == 5; the mapping still holds.
    native = NativeError(None, "001028002", "reference_urls can contain maximum 5 images")
    violation = Violation("references", "references.image.max", "6 image references", limit=5, value=6, native=native)
    request = MockRequest("POST", SUBMIT, {}, AUTH, b"{}", "http://mock.test")
    contract = wan26_vtrix.DIALECT.contracts["vtrix/r2v"]
    response = wan26_vtrix.DIALECT.invalid(request, contract, [violation])
    assert response.body == {"status": "failed", "error": {"code": "001028002", "message": native.message}}


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic abc", "Key canary-secret-123"])
def test_missing_or_malformed_bearer_is_401(client: TestClient, header: str | None) -> None:
    headers = {} if header is None else {"authorization": header}
    response = client.post(SUBMIT, json=BODY, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"message": "API key is missing or invalid"}
    task_id = submit(client).json()["id"]
    assert client.get(TASK.format(task_id), headers=headers).status_code == 401


def test_malformed_json_is_a_native_400(client: TestClient) -> None:
    response = client.post(SUBMIT, content=b'{"model": "wan26_r2v", ', headers={**AUTH, "content-type": "application/json"})
    assert response.status_code == 400
    assert set(response.json()) == {"message"}


def test_an_unknown_model_is_refused(client: TestClient) -> None:
    response = submit(client, {**BODY, "model": "wan99"})
    assert response.status_code == 400
    assert "wan99" in response.json()["message"]


def test_an_unknown_task_is_404(client: TestClient) -> None:
    response = client.get(TASK.format("task_does_not_exist"), headers=AUTH)
    assert response.status_code == 404
    assert set(response.json()) == {"message"}


def test_generation_failed_scenario_carries_the_native_code(client: TestClient) -> None:
    response = submit(client, scenario="generation_failed:001028095")
    assert response.status_code == 200
    task_id = response.json()["id"]
    advance(client, 5)
    body = client.get(TASK.format(task_id), headers=AUTH).json()
    assert body["status"] == "failed"
    assert body["error"] == {"code": "001028095", "message": "Internal generation error"}
    assert "output" not in body and "progress" not in body


def test_rate_limited_scenario_is_429_with_retry_after(client: TestClient) -> None:
    response = submit(client, scenario="rate_limited:3")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert response.json() == {"message": "Rate limit exceeded"}


def test_server_error_scenario_is_a_5xx(client: TestClient) -> None:
    response = submit(client, scenario="server_error:500")
    assert response.status_code == 500
    assert response.json() == {"message": "Internal server error"}


def test_the_journal_never_holds_the_key(client: TestClient) -> None:
    submit(client)
    client.post(SUBMIT, content=b"{", headers=AUTH)
    journal = client.get("/__wan26__/journal")
    assert journal.status_code == 200
    assert journal.json()["entries"]
    assert CANARY not in journal.text
