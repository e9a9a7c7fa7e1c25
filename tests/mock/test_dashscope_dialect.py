"""The DashScope dialect driven through the real mock engine, in process."""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from starlette.testclient import TestClient

import wan26_dashscope
import wan26_fal
from mockkit import CANARY, SCENARIO, advance, mock_client
from wan26core._dialect import Dialect

AUTH = {"authorization": f"Bearer {CANARY}"}
ASYNC = {**AUTH, "x-dashscope-async": "enable"}
SUBMIT = "/api/v1/services/aigc/video-generation/video-synthesis"
TASK = "/api/v1/tasks/{}"
CANCEL = "/api/v1/tasks/{}/cancel"
R2V: dict[str, Any] = {
    "model": "wan2.6-r2v",
    "input": {
        "prompt": "character1一边喝奶茶，一边随着音乐即兴跳舞。",
        "reference_urls": ["https://cdn.wanx.aliyuncs.com/static/demo-wan26/vace.mp4"],
    },
    "parameters": {"size": "1280*720", "duration": 5, "shot_type": "multi"},
}
I2V: dict[str, Any] = {
    "model": "wan2.6-i2v",
    "input": {"prompt": "A cat runs on the grass", "img_url": "https://example.com/cat.png"},
    "parameters": {"resolution": "720P", "duration": 5},
}
TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$")
ERROR_KEYS = {"request_id", "code", "message"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with mock_client(wan26_dashscope, output_dir=tmp_path_factory.mktemp("wan26_dashscope-out")) as test_client:
        yield test_client


def submit(client: TestClient, body: dict[str, Any] | None = None, *, scenario: str | None = None) -> Any:
    headers = {**ASYNC, **({SCENARIO: scenario} if scenario else {})}
    return client.post(SUBMIT, json=R2V if body is None else body, headers=headers)


def query(client: TestClient, task_id: str, *, scenario: str | None = None) -> Any:
    headers = {**AUTH, **({SCENARIO: scenario} if scenario else {})}
    return client.get(TASK.format(task_id), headers=headers)


def test_the_plugin_attaches_one_dialect() -> None:
    assert isinstance(wan26_dashscope.DIALECT, Dialect)
    assert wan26_dashscope.DIALECT.provider == "dashscope"
    routes = {(r.method, r.path, r.action) for r in wan26_dashscope.DIALECT.routes()}
    assert routes == {
        ("POST", SUBMIT, "submit"),
        ("GET", "/api/v1/tasks/{task_id}", "status"),
        ("POST", "/api/v1/tasks/{task_id}/cancel", "cancel"),
    }


def test_create_answers_pending(client: TestClient) -> None:
    response = submit(client)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"request_id", "output"}
    assert set(body["output"]) == {"task_id", "task_status"}
    assert body["output"]["task_status"] == "PENDING"


@pytest.mark.parametrize(
    ("body", "size", "usage_keys"),
    [
        (R2V, (1280, 720), {"duration", "size", "input_video_duration", "output_video_duration", "video_count", "SR"}),
        (I2V, (1280, 720), {"duration", "input_video_duration", "output_video_duration", "video_count", "SR"}),
    ],
    ids=["r2v", "i2v"],
)
def test_a_task_runs_to_success_with_a_real_video(
    client: TestClient, body: dict[str, Any], size: tuple[int, int], usage_keys: set[str]
) -> None:
    task_id = submit(client, body).json()["output"]["task_id"]
    pending = query(client, task_id).json()
    assert pending["output"]["task_status"] == "PENDING"
    assert TIME.match(pending["output"]["submit_time"])
    assert "usage" not in pending and "video_url" not in pending["output"]
    advance(client, 0.5)
    running = query(client, task_id).json()["output"]
    assert running["task_status"] == "RUNNING"
    assert TIME.match(running["scheduled_time"])
    assert "end_time" not in running
    advance(client, 5)
    response = query(client, task_id)
    assert response.status_code == 200
    done = response.json()
    output = done["output"]
    assert set(output) == {"task_id", "task_status", "submit_time", "scheduled_time", "end_time", "orig_prompt", "video_url"}
    assert output["task_status"] == "SUCCEEDED"
    assert output["orig_prompt"] == body["input"]["prompt"]
    assert TIME.match(output["end_time"])
    assert output["submit_time"] <= output["scheduled_time"] <= output["end_time"]
    usage = done["usage"]
    assert set(usage) == usage_keys
    assert (usage["video_count"], usage["output_video_duration"], usage["SR"]) == (1, 5, 720)
    if "size" in usage:
        assert usage["size"] == "1280*720"
    video = client.get(output["video_url"])
    assert video.status_code == 200
    with av.open(io.BytesIO(video.content)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == size
        assert container.duration / 1_000_000 == pytest.approx(5, abs=0.2)


@pytest.mark.parametrize("value", [None, "disable", ""])
def test_a_create_without_the_async_header_is_access_denied(client: TestClient, value: str | None) -> None:
    headers = dict(AUTH) if value is None else {**AUTH, "x-dashscope-async": value}
    response = client.post(SUBMIT, json=R2V, headers=headers)
    assert response.status_code == 403
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert (body["code"], body["message"]) == ("AccessDenied", "current user api does not support synchronous calls.")


def test_the_async_header_is_matched_case_insensitively(client: TestClient) -> None:
    response = client.post(SUBMIT, json=R2V, headers={**AUTH, "X-DashScope-Async": "enable"})
    assert response.status_code == 200


def test_an_invalid_body_is_invalid_parameter(client: TestClient) -> None:
    body = copy.deepcopy(R2V)
    body["parameters"]["duration"] = 15
    body["parameters"]["size"] = "1920*1080"
    response = submit(client, body)
    assert response.status_code == 400
    assert set(response.json()) == ERROR_KEYS
    assert response.json()["code"] == "InvalidParameter"
    entry = wan26_dashscope.DIALECT.contracts["dashscope/r2v"].error("InvalidParameter")
    assert entry is not None
    # the documented text's placeholder names the offending wire parameter
    assert response.json()["message"] == entry["message"].replace("xxx", "parameters.duration")


def test_too_many_references_is_invalid_parameter(client: TestClient) -> None:
    body = copy.deepcopy(R2V)
    body["input"]["reference_urls"] = [f"https://example.com/v{i}.mp4" for i in range(4)]
    body["input"]["prompt"] = "character1 character2 character3 character4 dance"
    response = submit(client, body)
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidParameter"


def test_a_bad_reference_url_is_invalid_url(client: TestClient) -> None:
    body = copy.deepcopy(R2V)
    body["input"]["reference_urls"] = ["ftp://example.com/v.mp4"]
    response = submit(client, body)
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidURL"


def test_a_body_without_input_is_empty_input(client: TestClient) -> None:
    response = submit(client, {"model": "wan2.6-r2v", "parameters": {"duration": 5}})
    assert response.status_code == 400
    assert response.json()["code"] == "BadRequest.EmptyInput"


def test_malformed_json_is_a_native_400(client: TestClient) -> None:
    response = client.post(SUBMIT, content=b'{"model": "wan2.6-r2v", ', headers={**ASYNC, "content-type": "application/json"})
    assert response.status_code == 400
    assert set(response.json()) == ERROR_KEYS
    assert response.json()["code"] == "InvalidParameter"


def test_an_unknown_model_is_model_not_found(client: TestClient) -> None:
    response = submit(client, {**R2V, "model": "wan9.9-r2v"})
    assert response.status_code == 404
    assert (response.json()["code"], response.json()["message"]) == ("ModelNotFound", "Model can not be found.")


@pytest.mark.parametrize(
    ("header", "message"),
    [(None, "No API-key provided."), ("Bearer", "Invalid API-key provided."), ("Basic abc", "Invalid API-key provided.")],
)
def test_missing_or_malformed_bearer_is_invalid_api_key(client: TestClient, header: str | None, message: str) -> None:
    headers = {"x-dashscope-async": "enable"} | ({} if header is None else {"authorization": header})
    response = client.post(SUBMIT, json=R2V, headers=headers)
    assert response.status_code == 401
    assert set(response.json()) == ERROR_KEYS
    assert (response.json()["code"], response.json()["message"]) == ("InvalidApiKey", message)
    task_id = submit(client).json()["output"]["task_id"]
    headers.pop("x-dashscope-async")
    assert client.get(TASK.format(task_id), headers=headers).status_code == 401
    assert client.post(CANCEL.format(task_id), headers=headers).status_code == 401
    assert client.get(TASK.format("no-such-task"), headers=headers).status_code == 401


def test_a_pending_task_can_be_cancelled(client: TestClient) -> None:
    task_id = submit(client).json()["output"]["task_id"]
    response = client.post(CANCEL.format(task_id), headers=AUTH)
    assert response.status_code == 200
    assert set(response.json()) == {"request_id"}
    output = query(client, task_id).json()["output"]
    assert output["task_status"] == "CANCELED"
    assert "video_url" not in output


def test_a_running_task_cannot_be_cancelled(client: TestClient) -> None:
    task_id = submit(client).json()["output"]["task_id"]
    advance(client, 0.5)
    assert query(client, task_id).json()["output"]["task_status"] == "RUNNING"
    response = client.post(CANCEL.format(task_id), headers=AUTH)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == "UnsupportedOperation"
    assert body["message"] == "Failed to cancel the task, please confirm if the task is in PENDING status."
    advance(client, 5)
    assert query(client, task_id).json()["output"]["task_status"] == "SUCCEEDED"


def test_an_unknown_task_is_unknown_not_an_error(client: TestClient) -> None:
    response = query(client, "502a00b1-19d9-4839-a82f-000000000000")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"request_id", "output"}
    assert body["output"] == {"task_id": "502a00b1-19d9-4839-a82f-000000000000", "task_status": "UNKNOWN"}
    cancel = client.post(CANCEL.format("502a00b1-19d9-4839-a82f-000000000000"), headers=AUTH)
    assert cancel.status_code == 400
    assert cancel.json()["code"] == "UnsupportedOperation"


@pytest.mark.parametrize(
    ("scenario", "code", "message"),
    [
        # a FAILED task reports the output's inspection failure (the catalogue's entry without an HTTP status)
        ("content_policy", "DataInspectionFailed", "Output data may contain inappropriate content."),
        ("generation_failed:InternalError.Algo", "InternalError.Algo", "inference internal error."),
        ("generation_failed", "InternalError", "An internal error has occured, try again later or contact service support."),
    ],
)
def test_failure_scenarios_carry_the_native_code(client: TestClient, scenario: str, code: str, message: str) -> None:
    task_id = submit(client, scenario=scenario).json()["output"]["task_id"]
    advance(client, 5)
    response = query(client, task_id)
    assert response.status_code == 200
    output = response.json()["output"]
    assert output["task_status"] == "FAILED"
    assert (output["code"], output["message"]) == (code, message)
    assert "video_url" not in output
    assert "usage" not in response.json()


def test_rate_limited_scenario_is_429_with_retry_after(client: TestClient) -> None:
    response = submit(client, scenario="rate_limited:3")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert set(response.json()) == ERROR_KEYS
    assert response.json()["code"] == "Throttling"


def test_server_error_scenario_is_in_the_error_shape(client: TestClient) -> None:
    response = query(client, submit(client).json()["output"]["task_id"], scenario="server_error:503")
    assert response.status_code == 503
    assert (response.json()["code"], response.json()["message"]) == ("ModelUnavailable", "Model is unavailable, try again later.")


def test_the_journal_never_holds_the_key(client: TestClient) -> None:
    task_id = submit(client).json()["output"]["task_id"]
    query(client, task_id)
    client.post(CANCEL.format(task_id), headers=AUTH)
    client.post(SUBMIT, json=R2V, headers=AUTH)
    journal = client.get("/__wan26__/journal")
    assert journal.status_code == 200
    assert journal.json()["entries"]
    assert CANARY not in journal.text


def test_a_trailing_slash_reaches_the_task_as_the_asyncio_sdk_sends_it(client: TestClient) -> None:
    task_id = submit(client).json()["output"]["task_id"]
    response = client.get(TASK.format(task_id) + "/", headers=AUTH)
    assert response.status_code == 200
    assert response.json()["output"]["task_id"] == task_id


def test_only_a_dialect_that_says_so_answers_a_trailing_slash(tmp_path: Path) -> None:
    """The trailing slash is DashScope's quirk (its dialect's ``trailing_slash``), not the engine's: beside it, fal's
    status route with one is not found, while DashScope's still is."""

    with mock_client(wan26_dashscope, wan26_fal, output_dir=tmp_path) as both:
        fal = both.get("/wan/v2.6/requests/no-such-request/status/", headers={"Authorization": "Key k"})
        assert fal.status_code == 404 and "no mock route" in fal.json()["detail"]
        dashscope = both.get(TASK.format("no-such-task") + "/", headers=AUTH)
        assert "no mock route" not in dashscope.text
