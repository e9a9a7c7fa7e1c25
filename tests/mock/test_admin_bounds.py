"""Every number the admin API and the scenario header take is checked (finite, non-negative, within a stated maximum:
a 400 naming the field, never a 5xx, never a poisoned clock); only JSON drives the admin API; listings are pages;
answers are strict JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

import wan26_dashscope
import wan26_vtrix
from mockkit import CANARY, SCENARIO, advance, mock_client
from wan26_mock.encoding import to_wire
from wan26_mock.limits import DEFAULT_PAGE_SIZE, MAX_ADVANCE_S, MAX_CLOCK_OFFSET_S, MAX_PAGE_SIZE
from wan26core._dialect import MockResponse

VTRIX = "/model/v1/generation"
VTRIX_TASK = "/model/v1/generation/task/{}"
DASHSCOPE = "/api/v1/services/aigc/video-generation/video-synthesis"
DASHSCOPE_TASK = "/api/v1/tasks/{}"
VTRIX_AUTH = {"authorization": f"Bearer {CANARY}"}
DASHSCOPE_AUTH = {"authorization": f"Bearer {CANARY}", "x-dashscope-async": "enable"}
VTRIX_BODY: dict[str, Any] = {
    "model": "wan26_r2v",
    "input": {"prompt": "character1 waves", "reference_urls": ["https://example.com/a.mp4"]},
    "parameters": {"size": "1280*720", "duration": 5},
}
DASHSCOPE_BODY: dict[str, Any] = {
    "model": "wan2.6-r2v",
    "input": {"prompt": "character1 waves", "reference_urls": ["https://example.com/a.mp4"]},
    "parameters": {"size": "1280*720", "duration": 5},
}
JSON = {"content-type": "application/json"}

#: numbers no field takes: JSON's NaN and infinities (Python's json reads them), negatives, absurd sizes, wrong types
BAD_NUMBERS = ["NaN", "Infinity", "-Infinity", "-1", "3e11", "1e400", "1e308", '"5"', "true", "null", "[1]", "10" * 30]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with mock_client(wan26_vtrix, wan26_dashscope, output_dir=tmp_path) as test_client:
        yield test_client


def raw_post(client: TestClient, path: str, text: str, headers: dict[str, str] | None = None) -> Any:
    return client.post(path, content=text.encode(), headers=headers if headers is not None else JSON)


def strict(response: Any) -> Any:
    """The answer's JSON, read strictly: NaN and infinities are no JSON."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in an answer: {response.text[:200]}")

    return json.loads(response.text, parse_constant=refuse)


def refused(response: Any, field: str) -> None:
    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert field in strict(response)["detail"], response.text


def still_serves(client: TestClient) -> None:
    """Later answers are fine: a Vtrix submit, its status, a DashScope status, the clock (each strict JSON, no 5xx)."""
    submitted = client.post(VTRIX, json=VTRIX_BODY, headers=VTRIX_AUTH)
    assert submitted.status_code == 200, submitted.text
    task = strict(submitted)["id"]
    assert client.get(VTRIX_TASK.format(task), headers=VTRIX_AUTH).status_code == 200
    created = client.post(DASHSCOPE, json=DASHSCOPE_BODY, headers=DASHSCOPE_AUTH)
    assert created.status_code == 200, created.text
    status = client.get(DASHSCOPE_TASK.format(strict(created)["output"]["task_id"]), headers=DASHSCOPE_AUTH)
    assert status.status_code == 200, status.text
    strict(status)
    strict(client.get("/__wan26__/clock"))
    strict(client.get("/__wan26__/jobs"))


# --- clock/advance ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("number", BAD_NUMBERS)
def test_clock_advance_refuses_every_bad_number_by_name(client: TestClient, number: str) -> None:
    refused(raw_post(client, "/__wan26__/clock/advance", f'{{"seconds": {number}}}'), "seconds")
    still_serves(client)


def test_clock_advance_takes_up_to_its_maximum_and_no_more_in_all(client: TestClient) -> None:
    before = strict(client.get("/__wan26__/clock"))["now"]
    advance(client, MAX_ADVANCE_S)
    assert strict(client.get("/__wan26__/clock"))["now"] >= before + MAX_ADVANCE_S
    refused(client.post("/__wan26__/clock/advance", json={"seconds": MAX_ADVANCE_S + 1}), "seconds")
    for _ in range(MAX_CLOCK_OFFSET_S // MAX_ADVANCE_S + 1):
        answer = client.post("/__wan26__/clock/advance", json={"seconds": MAX_ADVANCE_S})
        if answer.status_code != 200:
            break
    refused(answer, "seconds")  # the total is bounded too: dates stay printable
    assert strict(client.get("/__wan26__/clock"))["now"] <= before + MAX_CLOCK_OFFSET_S + 60
    still_serves(client)


# --- queued scenarios ------------------------------------------------------------------------------------
@pytest.mark.parametrize("number", [*BAD_NUMBERS, "0", "1.5"])
def test_a_queued_scenario_count_is_a_positive_integer_in_range(client: TestClient, number: str) -> None:
    refused(raw_post(client, "/__wan26__/scenarios", f'{{"scenario": "stuck", "count": {number}}}'), "count")
    assert strict(client.get("/__wan26__/scenarios"))["pending"] == []


BAD_SCENARIOS = [
    "latency:nan",
    "latency:inf",
    "latency:-1",
    "latency:1e12",
    "latency:abc",
    "rate_limited:nan",
    "rate_limited:-5",
    "rate_limited:1e30",
    "timeout_after_accept:inf",
    "timeout_after_accept:1e12",
    "server_error:nan",
    "server_error:404",
    "server_error:1e3",
    "server_error:-500",
    "server_error:503.5",
    "stuck:5",
    "connection_reset:before",
    "meteor",
    "latency:" + "9" * 500,
]


@pytest.mark.parametrize("scenario", BAD_SCENARIOS)
def test_a_queued_scenario_with_a_bad_argument_is_refused_by_name(client: TestClient, scenario: str) -> None:
    refused(client.post("/__wan26__/scenarios", json={"scenario": scenario, "count": 1}), "scenario")
    assert strict(client.get("/__wan26__/scenarios"))["pending"] == []


# --- the scenario header on provider routes ------------------------------------------------------------
@pytest.mark.parametrize("scenario", BAD_SCENARIOS)
def test_a_bad_scenario_header_is_a_400_naming_the_header_never_a_crash(client: TestClient, scenario: str) -> None:
    answer = client.post(VTRIX, json=VTRIX_BODY, headers={**VTRIX_AUTH, SCENARIO: scenario})
    refused(answer, "X-Wan26-Mock-Scenario")
    assert strict(client.get("/__wan26__/jobs"))["jobs"] == []  # nothing was created
    still_serves(client)


@pytest.mark.parametrize(
    ("scenario", "status", "retry_after"),
    [("latency:0", 200, None), ("rate_limited:2", 429, "2"), ("rate_limited:0.5", 429, "0.5"), ("server_error:502", 502, None)],
)
def test_good_scenario_arguments_still_work(client: TestClient, scenario: str, status: int, retry_after: str | None) -> None:
    answer = client.post(DASHSCOPE, json=DASHSCOPE_BODY, headers={**DASHSCOPE_AUTH, SCENARIO: scenario})
    assert answer.status_code == status, answer.text
    assert answer.headers.get("retry-after") == retry_after


def test_a_native_code_still_selects_a_server_error(client: TestClient) -> None:
    answer = client.post(VTRIX, json=VTRIX_BODY, headers={**VTRIX_AUTH, SCENARIO: "server_error:001028099"})
    assert answer.status_code < 600 and "x-wan26-mock-bug" not in answer.headers
    assert "X-Wan26-Mock-Scenario" not in answer.text


# --- listings: pages with numbers checked -----------------------------------------------------------------
LISTING_PARAMETERS = [(r, "limit") for r in ("jobs", "journal", "webhooks")]
LISTING_PARAMETERS += [("jobs", "offset"), ("webhooks", "offset"), ("journal", "after")]


@pytest.mark.parametrize(("route", "parameter"), LISTING_PARAMETERS)
@pytest.mark.parametrize("number", ["nan", "inf", "-1", "1e400", "abc", "1.5", str(10**20)])
def test_listing_parameters_are_checked(client: TestClient, route: str, parameter: str, number: str) -> None:
    refused(client.get(f"/__wan26__/{route}", params={parameter: number}), parameter)
    if parameter == "limit":
        refused(client.get(f"/__wan26__/{route}", params={parameter: "0"}), parameter)


def test_jobs_are_listed_in_pages(client: TestClient) -> None:
    ids = [strict(client.post(VTRIX, json=VTRIX_BODY, headers=VTRIX_AUTH))["id"] for _ in range(5)]
    first = strict(client.get("/__wan26__/jobs", params={"limit": 2}))
    assert [j["id"] for j in first["jobs"]] == ids[:2]
    assert (first["total"], first["offset"], first["limit"], first["next_offset"]) == (5, 0, 2, 2)
    last = strict(client.get("/__wan26__/jobs", params={"limit": 2, "offset": 4}))
    assert [j["id"] for j in last["jobs"]] == ids[4:] and last["next_offset"] is None
    default = strict(client.get("/__wan26__/jobs"))
    assert default["limit"] == DEFAULT_PAGE_SIZE and len(default["jobs"]) == 5
    refused(client.get("/__wan26__/jobs", params={"limit": MAX_PAGE_SIZE + 1}), "limit")


def test_the_journal_is_listed_in_pages_by_cursor(client: TestClient) -> None:
    for _ in range(5):
        client.post(VTRIX, json=VTRIX_BODY, headers=VTRIX_AUTH)
    seen: list[int] = []
    query: dict[str, Any] = {"limit": 2, "action": "submit"}
    while True:
        page = strict(client.get("/__wan26__/journal", params=query))
        seen += [e["seq"] for e in page["entries"]]
        assert page["total"] == 5
        if page["next_after"] is None:
            break
        query["after"] = page["next_after"]
    assert len(seen) == 5 and seen == sorted(seen)
    assert strict(client.get("/__wan26__/journal"))["limit"] == DEFAULT_PAGE_SIZE


def test_the_default_page_is_bounded() -> None:
    from wan26_mock.engine import Engine
    from wan26_mock.journal import RequestJournal

    journal = RequestJournal()
    for n in range(DEFAULT_PAGE_SIZE * 3):
        journal.record(
            time=n, method="GET", path="/x", query={}, headers={}, body=b"", status=200, response=b"{}",
            provider=None, action=None, job_id=None, scenario=None,
        )  # fmt: skip
    entries, total, more = journal.page(limit=DEFAULT_PAGE_SIZE)
    assert (len(entries), total, more) == (DEFAULT_PAGE_SIZE, DEFAULT_PAGE_SIZE * 3, True)
    assert Engine is not None


# --- only JSON drives the admin API; no CORS ------------------------------------------------------------
ADMIN_POSTS = [
    ("/__wan26__/reset", "{}"),
    ("/__wan26__/clock/advance", '{"seconds": 1}'),
    ("/__wan26__/scenarios", '{"scenario": "stuck"}'),
]


@pytest.mark.parametrize(("path", "text"), ADMIN_POSTS)
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "", None]
)
def test_admin_posts_take_only_json(client: TestClient, path: str, text: str, content_type: str | None) -> None:
    client.post(VTRIX, json=VTRIX_BODY, headers=VTRIX_AUTH)
    headers = {} if content_type is None else {"content-type": content_type}
    for body in (text, ""):  # a browser's simple request may send a body, or none
        answer = client.post(path, content=body.encode(), headers=headers)
        assert answer.status_code == 415, (content_type, body, answer.text)
        assert "Content-Type" in strict(answer)["detail"]
    assert len(strict(client.get("/__wan26__/jobs"))["jobs"]) == 1  # the reset did not happen
    assert strict(client.get("/__wan26__/scenarios"))["pending"] == []


@pytest.mark.parametrize(("path", "text"), ADMIN_POSTS)
@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"])
def test_admin_posts_take_json(client: TestClient, path: str, text: str, content_type: str) -> None:
    assert client.post(path, content=text.encode(), headers={"content-type": content_type}).status_code == 200


@pytest.mark.parametrize("path", ["/__wan26__/reset", "/__wan26__/jobs", "/__wan26__/health", VTRIX])
def test_no_cors_anywhere(client: TestClient, path: str) -> None:
    origin = {"origin": "https://evil.example", "access-control-request-method": "POST"}
    preflight = client.options(path, headers={**origin, "access-control-request-headers": "content-type"})
    assert preflight.status_code >= 400
    for answer in (preflight, client.get(path, headers=origin)):
        assert not [h for h in answer.headers if h.lower().startswith("access-control-")]


# --- strict JSON out ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_an_answer_is_never_sent_with_nan_or_infinity(value: float) -> None:
    wire = to_wire(MockResponse(200, {"now": value}))
    assert wire.status == 500 and (b"x-wan26-mock-bug", b"1") in wire.headers
    assert "NaN" not in wire.body.decode() and "Infinity" not in wire.body.decode()
    json.loads(wire.body, parse_constant=lambda c: pytest.fail(c))


# --- the command line's numbers ---------------------------------------------------------------------------
BAD_OPTIONS = [("--time-scale", v) for v in ("nan", "inf", "0", "-1", "1e9", "abc")]
BAD_OPTIONS += [("--max-jobs", v) for v in ("0", "-5", "1.5", "nan")]


@pytest.mark.parametrize(("option", "value"), BAD_OPTIONS)
def test_serve_options_are_checked_by_name(option: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from wan26_mock.serve import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args([f"{option}={value}"])
    assert option in capsys.readouterr().err


@pytest.mark.parametrize("scale", [float("nan"), float("inf"), 0.0, -1.0])
def test_an_engine_refuses_a_bad_time_scale_by_name(scale: float) -> None:
    from wan26_mock.engine import Engine
    from wan26core import Registry

    with pytest.raises(ValueError, match="time_scale"):
        Engine(Registry([wan26_vtrix], entry_points=False), time_scale=scale)
