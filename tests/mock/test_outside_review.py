"""What an outside review of the hardened mock still found, each pinned: strict JSON listings whatever a body held,
ignored fields not stored, long upload names, a client gone mid-body, ports and numbers read strictly."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

import wan26_aimlapi
import wan26_fal
import wan26_vtrix
from mockkit import mock_client
from wan26_mock.app import MockEndpoint
from wan26_mock.limits import BadNumber, check_number
from wan26_mock.serve import add_arguments

FAL = {"Authorization": "Key mock-key"}
BEARER = {"Authorization": "Bearer mock-key"}
FLASH = "/wan/v2.6/reference-to-video/flash"
VIDEO = "https://example.com/a.mp4"


@pytest.fixture
def client() -> Iterator[TestClient]:
    with mock_client(wan26_fal, wan26_vtrix, wan26_aimlapi) as test_client:
        yield test_client


def strict(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise AssertionError(f"non-strict JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def post_raw(client: TestClient, path: str, text: str, headers: dict[str, str]) -> Any:
    return client.post(path, content=text.encode(), headers={**headers, "content-type": "application/json"})


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_a_non_finite_number_in_any_body_never_breaks_the_admin_listings(client: TestClient, constant: str) -> None:
    post_raw(client, FLASH, f'{{"x": {constant}}}', {})  # refused for its key: still journaled
    accepted = post_raw(client, FLASH, f'{{"prompt": "Character1 waves", "video_urls": ["{VIDEO}"], "zz": {constant}}}', FAL)
    assert accepted.status_code == 200, accepted.text
    job_id = accepted.json()["request_id"]
    for path in ("/__wan26__/journal", "/__wan26__/jobs", f"/__wan26__/jobs/{job_id}", f"/__wan26__/journal?job_id={job_id}"):
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.text)
        strict(answer.text)


def test_fields_the_provider_ignores_are_not_stored_with_the_job(client: TestClient) -> None:
    body = {
        "model": "wan26_r2v",
        "input": {"prompt": "character1 waves", "reference_urls": [VIDEO], "zz_in": "y" * 100_000},
        "parameters": {"duration": 5, "zz_param": {"deep": ["z" * 100_000]}},
        "zz_top": "x" * 1_000_000,
    }
    answer = client.post("/model/v1/generation", json=body, headers=BEARER)
    assert answer.status_code == 200 and answer.json()["status"] != "failed", answer.text
    view = client.get(f"/__wan26__/jobs/{answer.json()['id']}")
    wire = view.json()["wire"]
    assert wire == {
        "model": "wan26_r2v",
        "input": {"prompt": "character1 waves", "reference_urls": [VIDEO]},
        "parameters": {"duration": 5},
    }
    assert len(view.content) < 10_000


@pytest.mark.parametrize("name", ["a" * 256, "b" * 300 + ".mp4", "x" * 5000 + ".png"])
def test_an_upload_name_past_what_a_file_system_takes_is_stored_under_its_hash(client: TestClient, name: str) -> None:
    token = client.post("/storage/auth/token?storage_type=fal-cdn-v3", json={}, headers=FAL).json()
    headers = {"Authorization": f"{token['token_type']} {token['token']}", "Content-Type": "video/mp4"}
    answer = client.post("/files/upload", content=b"\0" * 64, headers={**headers, "X-Fal-File-Name": name})
    assert answer.status_code == 200, answer.text
    url = answer.json()["access_url"]
    assert len(url.rsplit("/", 1)[1]) <= 200
    assert client.get(url).content == b"\0" * 64


def test_a_client_gone_mid_body_is_dropped_quietly(caplog: pytest.LogCaptureFixture) -> None:
    with mock_client(wan26_fal) as test_client:
        endpoint = MockEndpoint(test_client.app.state.engine)  # type: ignore[attr-defined]
    sent: list[Any] = []
    messages = iter([{"type": "http.request", "body": b'{"pro', "more_body": True}, {"type": "http.disconnect"}])

    async def receive() -> Any:
        return next(messages)

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": FLASH,
        "headers": [(b"host", b"mock.test"), (b"content-length", b"100")],
        "query_string": b"",
        "scheme": "http",
        "server": ("mock.test", 80),
    }
    with caplog.at_level(logging.DEBUG):
        asyncio.run(endpoint(scope, receive, send))
    assert sent == []  # nobody to answer
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("port", ["70000", "-1", "65536", "http"])
def test_a_port_out_of_range_is_a_usage_error_not_a_port_modulo_65536(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["--port", port])
    assert exited.value.code == 2
    assert "port" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["1_000", "٥", " 5 ", "0x10", "5,0"])
def test_numbers_given_as_text_are_ascii_decimal_only(text: str) -> None:
    with pytest.raises(BadNumber):
        check_number(text, "limit", maximum=1000, text=True)
    assert check_number("5", "limit", maximum=1000, text=True) == 5.0


def test_aimlapi_takes_ascii_digit_strings_only(client: TestClient) -> None:
    body = {"model": "alibaba/wan-2-6-r2v", "prompt": "character1 waves", "video_urls": [VIDEO]}
    assert client.post("/v2/video/generations", json={**body, "duration": "5"}, headers=BEARER).status_code in (200, 201)
    refused = client.post("/v2/video/generations", json={**body, "duration": "٥"}, headers=BEARER)
    assert refused.status_code == 400
    assert refused.json()["message"] == "Body validation error\nInvalid enum value. Expected 5 | 10, received '٥'"


def test_aimlapi_refuses_a_data_uri_in_its_own_words(client: TestClient) -> None:
    body = {"model": "alibaba/wan-2-6-r2v", "prompt": "character1 waves", "video_urls": ["data:video/mp4;base64,AAAA"]}
    refused = client.post("/v2/video/generations", json=body, headers=BEARER)
    assert refused.status_code == 400
    assert "local file" not in refused.json()["message"]
    assert "data URI" in refused.json()["message"] and "'video_urls'" in refused.json()["message"]


def test_a_scenario_naming_a_code_the_provider_lacks_is_refused_not_swapped(client: TestClient) -> None:
    body = {"model": "wan26_r2v", "input": {"prompt": "character1 waves", "reference_urls": [VIDEO]}}
    for scenario in ("generation_failed:BOGUS", "server_error:no_such_code"):
        refused = client.post("/model/v1/generation", json=body, headers={**BEARER, "X-Wan26-Mock-Scenario": scenario})
        assert refused.status_code == 400, refused.text
        assert "no native code of vtrix/r2v" in refused.json()["detail"]
    taken = client.post(
        "/model/v1/generation", json=body, headers={**BEARER, "X-Wan26-Mock-Scenario": "generation_failed:001028095"}
    )
    assert taken.status_code == 200 and taken.json()["status"] != "failed"
