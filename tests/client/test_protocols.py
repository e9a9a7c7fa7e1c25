"""What the conformance kit does not cover of the client-side protocols: Retry-After, base URLs, keys, redaction.

Every response example and catalogue entry of the built-in providers is checked by the kit (tests/conformance).
"""

from __future__ import annotations

import pytest

from support import builtin_registry as registry
from wan26_fal import FalClientProtocol
from wan26core import AuthenticationError, RetryPolicy, Wan26Error, builtin_contract
from wan26core._protocol import ContractClientProtocol, HttpReply, JobRef, redact_url
from wan26core._runtime import Send, Sleep


def protocol_of(provider_id: str) -> ContractClientProtocol:
    protocol = registry().get(provider_id).protocol  # type: ignore[attr-defined]
    assert isinstance(protocol, ContractClientProtocol)
    return protocol


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
    assert redact_url("https://x/y?token=abc&a=1") == "https://x/y?token=REDACTED&a=1"


def test_fal_uploads_run_under_the_client_s_retry_policy() -> None:
    """The upload's steps retry as the client's policy says (not under a policy of their own)."""
    protocol = FalClientProtocol(builtin_contract("fal/r2v-flash"))
    busy = HttpReply(503, {}, b'{"detail": "busy"}')

    def first_answer(policy: RetryPolicy) -> object:
        steps = protocol.upload_op(b"x", "video/mp4", "a.mp4", key="k", base_url="http://mock.test", policy=policy)
        assert isinstance(next(steps), Send)
        return steps.send(busy)

    assert isinstance(first_answer(RetryPolicy(attempts=3)), Sleep)
    with pytest.raises(Wan26Error):
        first_answer(RetryPolicy(attempts=1))
