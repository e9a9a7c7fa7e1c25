"""Injected faults in fal's own terms: request error types with X-Fal-Error-Type, and connections dropped on a socket."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.testclient import TestClient

import wan26_fal
from livekit import live_server
from mockkit import CANARY, SCENARIO, mock_client
from wan26_mock.engine import Engine
from wan26core import Registry

AUTH = {"Authorization": f"Key {CANARY}"}
FLASH = "/wan/v2.6/reference-to-video/flash"
BODY = {"prompt": "Character1 dances in the rain.", "video_urls": ["https://example.com/refs/dancer.mp4"]}


@pytest.fixture
def client() -> Iterator[TestClient]:
    with mock_client(wan26_fal) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("scenario", "status", "error_type"),
    [
        ("server_error:503", 503, "runner_scheduling_failure"),
        ("server_error:502", 502, "runner_incomplete_response"),
        ("server_error:504", 504, "request_timeout"),
        ("server_error:runner_disconnected", 503, "runner_disconnected"),
        ("server_error:startup_timeout", 504, "startup_timeout"),
        ("server_error:client_disconnected", 499, "client_disconnected"),
    ],
)
def test_injected_request_errors_carry_fals_error_type_header(
    client: TestClient, scenario: str, status: int, error_type: str
) -> None:
    response = client.post(FLASH, json=BODY, headers={**AUTH, SCENARIO: scenario})
    assert response.status_code == status
    assert response.headers["x-fal-error-type"] == error_type
    assert response.json() == {"detail": response.json()["detail"], "error_type": error_type}
    assert isinstance(response.json()["detail"], str)


def test_a_model_error_has_a_detail_list_and_no_error_type_header(client: TestClient) -> None:
    response = client.post(FLASH, json=BODY, headers={**AUTH, SCENARIO: "server_error:500"})
    assert response.status_code == 500
    assert "x-fal-error-type" not in response.headers
    assert response.json()["detail"][0]["type"] == "internal_server_error"


def test_status_polls_take_injected_request_errors_too(client: TestClient) -> None:
    job = client.post(FLASH, json=BODY, headers=AUTH).json()
    response = client.get(job["status_url"], headers={**AUTH, SCENARIO: "server_error:runner_connection_error"})
    assert (response.status_code, response.headers["x-fal-error-type"]) == (503, "runner_connection_error")


def test_connection_reset_on_a_real_socket() -> None:
    engine = Engine(Registry(plugins=[wan26_fal], entry_points=False), seed=2, frozen_clock=True)
    with live_server(engine) as base, httpx.Client(base_url=base, timeout=10) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            http.post(FLASH, json=BODY, headers={**AUTH, SCENARIO: "connection_reset"})
        assert http.get("/__wan26__/health").json()["jobs"] == 0
        with pytest.raises(httpx.RemoteProtocolError):
            http.post(FLASH, json=BODY, headers={**AUTH, SCENARIO: "connection_reset:after"})
        assert http.get("/__wan26__/health").json()["jobs"] == 1
        assert http.post(FLASH, json=BODY, headers=AUTH).status_code == 200  # the server is fine afterwards
