"""The client-side protocols read every response example recorded in the contracts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from support import builtin_registry as registry
from wan26core import AuthenticationError, ContentPolicyError, GenerationFailedError, RateLimitError, ValidationError
from wan26core.errors import JobNotFoundError, ProviderError
from wan26core.protocol import ContractClientProtocol, HttpReply, JobRef, redact_url

PROVIDERS = sorted(registry().providers())


def protocol_of(provider_id: str) -> ContractClientProtocol:
    protocol = registry().get(provider_id).protocol  # type: ignore[attr-defined]
    assert isinstance(protocol, ContractClientProtocol)
    return protocol


def reply(example: dict[str, Any]) -> HttpReply:
    headers = {k.lower(): v for k, v in example.get("headers", {}).items()}
    return HttpReply(example.get("http_status") or 200, headers, json.dumps(example["body"]).encode())


def examples(kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [(p, e) for p in PROVIDERS for e in registry().get(p).contract.examples(kind)]


def ids(cases: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [f"{p}:{e['name']}" for p, e in cases]


@pytest.mark.parametrize(("provider_id", "example"), examples("submit_response"), ids=ids(examples("submit_response")))
def test_submit_examples_give_a_job_id(provider_id: str, example: dict[str, Any]) -> None:
    ref = protocol_of(provider_id).parse_submitted(reply(example))
    body = json.dumps(example["body"])
    assert ref.job_id and ref.job_id in body
    assert ref.provider == provider_id


# where the result route is the status route, the result examples are status answers too
STATUS = examples("status_response") + [
    (p, e)
    for p, e in examples("result_response")
    if registry().get(p).contract.transport["routes"]["result"]["path"]
    == registry().get(p).contract.transport["routes"]["status"]["path"]
]


@pytest.mark.parametrize(("provider_id", "example"), STATUS, ids=ids(STATUS))
def test_status_examples_map_to_their_canonical_state(provider_id: str, example: dict[str, Any]) -> None:
    status = protocol_of(provider_id).parse_status(reply(example), JobRef(provider_id, "job-1"))
    assert status.state == example["canonical_state"]
    if status.state == "failed":
        assert isinstance(status.error, GenerationFailedError)
        assert status.error.native_code and status.error.native_code in json.dumps(example["body"])
    if status.state == "succeeded" and example["kind"] == "result_response":
        assert status.video is not None and status.video.url.startswith("https://")


@pytest.mark.parametrize(("provider_id", "example"), examples("result_response"), ids=ids(examples("result_response")))
def test_result_examples_give_the_video_url(provider_id: str, example: dict[str, Any]) -> None:
    video = protocol_of(provider_id).parse_result(reply(example), JobRef(provider_id, "job-1"))
    assert video.url in json.dumps(example["body"]).replace("\\/", "/")


ERRORS = examples("error_response")


@pytest.mark.parametrize(("provider_id", "example"), ERRORS, ids=ids(ERRORS))
def test_error_examples_keep_the_native_code(provider_id: str, example: dict[str, Any]) -> None:
    error = protocol_of(provider_id).error_from(reply(example), job_id="job-1")
    assert error.http_status == example["http_status"]
    assert error.native_code
    text = json.dumps(example["body"]) + json.dumps(example.get("headers", {}))
    assert error.native_code in text or error.native_code == str(example["http_status"])


@pytest.mark.parametrize("provider_id", PROVIDERS)
def test_every_catalogued_error_maps_to_its_class(provider_id: str) -> None:
    protocol = protocol_of(provider_id)
    classes = {
        "authentication": AuthenticationError,
        "rate_limit": RateLimitError,
        "validation": ValidationError,
        "not_found": JobNotFoundError,
        "provider": ProviderError,
    }
    contract = protocol.contract
    for entry in contract.data["errors"]:
        from wan26core.errors import NativeError
        from wan26core.protocol import error_for

        native = NativeError(entry["http_status"], entry["code"], entry["message"])
        error = error_for(contract, native, job_id="j")
        assert error.native_code == entry["code"], entry
        expected = classes.get(entry["kind"])
        if expected is not None:
            assert isinstance(error, expected), (entry, type(error))
        failed = error_for(contract, native, job_id="j", generation=True)
        if entry["kind"] == "content_policy":
            assert isinstance(failed, ContentPolicyError)
        if entry["kind"] == "generation_failed":
            assert isinstance(failed, GenerationFailedError) and failed.job_id == "j"


def test_retry_after_is_read_in_seconds_and_as_a_date() -> None:
    assert HttpReply(429, {"retry-after": "2.5"}, b"").retry_after == 2.5
    assert HttpReply(429, {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, b"").retry_after == 0.0
    assert HttpReply(429, {}, b"").retry_after is None


def test_base_url_comes_from_argument_then_our_variable_then_the_official_one() -> None:
    fal = protocol_of("fal/r2v-flash")
    assert fal.base_url(None, {}) == "https://queue.fal.run"
    assert fal.base_url(None, {"FAL_QUEUE_RUN_HOST": "127.0.0.1:9"}) == "https://127.0.0.1:9"
    assert fal.base_url(None, {"WAN26_FAL_BASE_URL": "http://x:1/", "FAL_QUEUE_RUN_HOST": "y"}) == "http://x:1"
    assert fal.base_url("http://arg", {"WAN26_FAL_BASE_URL": "http://x:1"}) == "http://arg"
    dashscope = protocol_of("dashscope/r2v")
    assert dashscope.base_url(None, {"DASHSCOPE_HTTP_BASE_URL": "http://h:2/api/v1"}) == "http://h:2"
    aiml = protocol_of("aimlapi/r2v")
    assert aiml.base_url(None, {"AIML_API_BASE": "http://h:3/v1"}) == "http://h:3"


def test_a_missing_key_names_the_variables_to_set() -> None:
    with pytest.raises(AuthenticationError, match="AIML_API_KEY or AIMLAPI_API_KEY"):
        protocol_of("aimlapi/r2v").api_key(None, {})
    assert protocol_of("aimlapi/r2v").api_key(None, {"AIMLAPI_API_KEY": "k2"}) == "k2"


def test_calls_never_show_the_key() -> None:
    fal = protocol_of("fal/r2v-flash")
    call = fal.status_call(JobRef("fal/r2v-flash", "abc"), key="canary-secret-123", base_url="https://q")
    assert call.headers["Authorization"] == "Key canary-secret-123"
    assert "canary" not in repr(call)
    assert redact_url("https://x/y?token=abc&a=1") == "https://x/y?token=***&a=1"
