"""Schemathesis with every registered check against the in-process mock: per operation (positive and negative data)
and stateful, where each submit's job id travels through the document's links to that job's own status, result,
cancel and stream routes.

The bar (issue 12): no server error, ever, on any provider. Every other check runs too; what it flags is either a
mock bug (fixed) or a documented provider behaviour that a generic check reads as a fault, listed in ``EXPECTED``
with the reason and the answers it covers. Bounded and derandomized in CI (seconds);
``WAN26_SUITE=full python -m tox run -e py -- tests/contract_drift/test_openapi_stateful.py`` runs more.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import CHECKS, is_check_class, load_all_checks
from schemathesis.core.failures import Failure, FailureGroup, ServerError
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.modes import GenerationMode

from support import builtin_registry
from wan26_mock import Engine, create_app

FULL = os.environ.get("WAN26_SUITE", "bounded").lower() == "full"
MAX_EXAMPLES = 60 if FULL else 12  # per operation and mode
STATEFUL_EXAMPLES = 200 if FULL else 100  # scenarios (15 endpoints behind 11 operations)
STATEFUL_STEPS = 10 if FULL else 7  # calls per scenario at most
#: virtual seconds the frozen clock moves after each stateful call: a fast-profile job (about 1 s) is queued, then
#: running, then done within one scenario, the same way on every run
STEP_SECONDS = 0.2
AUTH = {"fal": "Key wan26-test", "aimlapi": "Bearer wan26-test", "dashscope": "Bearer wan26-test", "vtrix": "Bearer wan26-test"}

load_all_checks()
#: every check Schemathesis registers (class-based checks, a plugin API for custom run-level checks, have no built-in)
ALL_CHECKS: list[Any] = [check for check in CHECKS.get_all() if not is_check_class(check)]

SUBMITS = {
    "fal": (
        "POST /wan/v2.6/image-to-video",
        "POST /wan/v2.6/reference-to-video",
        "POST /wan/v2.6/reference-to-video/flash",
        "POST /fal-ai/wan/v2.7/image-to-video",
        "POST /fal-ai/wan/v2.7/reference-to-video",
    ),
    "aimlapi": ("POST /v2/video/generations",),
    "dashscope": ("POST /api/v1/services/aigc/video-generation/video-synthesis",),
    "vtrix": ("POST /model/v1/generation",),
}


class Allowed(NamedTuple):
    """A failure that is not a mock fault: ``why`` (the provider's documented behaviour, or where no page says, the
    reading it names), the ``answer`` ("<status> <body>") it covers, and for which requests (``when``)."""

    why: str
    answer: str
    when: Callable[[Any], bool] = lambda case: True


def _blank_prompt(case: Any) -> bool:
    body = case.body if isinstance(case.body, dict) else {}
    prompt = body.get("prompt", body.get("input", {}).get("prompt") if isinstance(body.get("input"), dict) else None)
    return isinstance(prompt, str) and not prompt.strip()


BLANK_PROMPT = Allowed(
    "a blank prompt (whitespace only, so the schema's minLength 1 holds) is refused with the catalogued "
    "prompt.required error, as wan26's validation reads an empty prompt; no provider page says what it does with one",
    r'^(422 .*"loc":\["body","prompt"\],"msg":"Field required"|400 .*(Required parameter\(input\.prompt\)|the prompt is empty))',
    _blank_prompt,
)
REFERENCE_RULES = {
    "fal": Allowed(
        "the total reference count across video_urls and image_urls, a rule beyond a JSON schema, answered with fal's "
        "catalogued errors (contracts/fal/r2v-flash.json: errors)",
        r'^422 .*("msg":"Value error, [0-9]+ references in total; at (most|least) [0-9]+ (allowed|required)"|'
        r"Total number of references cannot exceed|"
        r'"msg":"Value error, provide at least one reference image or reference video")',
    ),
    "dashscope": Allowed(
        "reference counts by kind in one mixed list (kinds read from the URLs), a rule beyond a JSON schema, answered "
        "with DashScope's InvalidParameter naming the wire parameter (contracts/dashscope/r2v*.json: errors)",
        r"^400 .*InvalidParameter.*Required parameter\(input\.(reference_urls|media)\)",
    ),
    "aimlapi": Allowed(
        "Wan 2.7's reference count across image_urls and video_urls (at least one, at most five), a rule beyond a JSON "
        "schema, answered with AI/ML API's zod-worded refusal at the body (contracts/aimlapi/r2v-2.7.json: errors)",
        r"^400 .*Body validation error\\nArray must contain at (least 1|most 5) element\(s\) at 'body'",
    ),
}
#: Wan 2.7's media combinations and the conditional limits (contracts' conditional_limits): rules beyond a JSON
#: schema, answered with each provider's catalogued error at the field the rule names
MEDIA_RULES = Allowed(
    "Wan 2.7 image-to-video needs a start (a first frame or a clip), takes a last frame only after one, no clip with "
    "a first frame and no audio with a clip; a reference video caps the duration at 10 s (contracts/*/*-2.7.json: "
    "conditional_limits), each answered with the provider's catalogued error",
    r'^(422 .*("type":"feature_not_supported"|"msg":"Value error, with a reference video the duration)|'
    r"400 .*Required parameter\(input\.media\))",
)
AIMLAPI_DURATION_CAP = Allowed(
    "Wan 2.7 reference-to-video with a reference video and 15 s: the upstream 10 s cap, a conditional limit beyond a "
    "JSON schema (contracts/aimlapi/r2v-2.7.json: conditional_limits), answered with AI/ML API's generic refusal",
    r"^400 .*Body validation error\\nwith a reference video the duration is 5 or 10 s \(got 15\) at 'duration'",
)
#: fal's job routes, 2.6 (wan/v2.6/requests/…) and 2.7 (fal-ai/wan/requests/…)
FAL_RESULT = [
    Allowed(
        "fal answers the result of an unfinished job with 400 'Request is still in progress' and of a cancelled "
        "one with 499 client_cancelled (contracts/fal/*: errors)",
        r'^(400 \{"detail":"Request is still in progress"\}|499 .*"error_type":"client_cancelled")',
    )
]
FAL_CANCEL = [
    Allowed(
        "fal refuses to cancel a finished job: 400 ALREADY_COMPLETED (contracts/fal/*: errors)",
        r'^400 \{"status":"ALREADY_COMPLETED"\}$',
    )
]
#: (operation label, or "*" for any, failure key) -> what is allowed. The key is Schemathesis's failure code, with the
#: auth scenario for ST401. A server error (ST101) is never allowed.
EXPECTED: dict[tuple[str, str], list[Allowed]] = {
    **{(submit, "ST202"): [REFERENCE_RULES["fal"], MEDIA_RULES, BLANK_PROMPT] for submit in SUBMITS["fal"]},
    (SUBMITS["dashscope"][0], "ST202"): [REFERENCE_RULES["dashscope"], MEDIA_RULES, BLANK_PROMPT],
    (SUBMITS["aimlapi"][0], "ST202"): [REFERENCE_RULES["aimlapi"], AIMLAPI_DURATION_CAP, BLANK_PROMPT],
    **{(submit, "ST202"): [BLANK_PROMPT] for submit in SUBMITS["vtrix"]},
    ("*", "ST401:invalid_auth"): [
        Allowed(
            "the mock checks a key's form, never its value (it has no accounts): any well-formed key is accepted. A "
            "missing or malformed key is refused, which ST401:no_auth would catch (it is not allowed)",
            r"^2",
        )
    ],
    ("POST /model/v1/generation", "ST201"): [
        Allowed(
            "Vtrix refuses a bad reference list inside an HTTP 200 body ({status: failed, error}; "
            "contracts/vtrix/r2v.json responses.submit.note), as test_openapi.MOCK_ACCEPTS_INVALID says",
            r'^200 \{"status":"failed","error":\{"code":"00102800[1-4]"',
        )
    ],
    ("GET /model/v1/generation/task/{task_id}", "ST103"): [
        Allowed(
            "Vtrix's errors catalogue records no HTTP status for an unknown task; the mock answers 404 {message} "
            "(verify-mock warns: HTTP 404 is not in the errors catalogue)",
            r'^404 \{"message":"task .* not found"\}$',
        )
    ],
    **{(f"GET {base}/requests/{{request_id}}", "ST202"): FAL_RESULT for base in ("/wan/v2.6", "/fal-ai/wan")},
    **{(f"PUT {base}/requests/{{request_id}}/cancel", "ST202"): FAL_CANCEL for base in ("/wan/v2.6", "/fal-ai/wan")},
    ("POST /api/v1/tasks/{task_id}/cancel", "ST202"): [
        Allowed(
            "DashScope cancels only PENDING tasks; any other, or one it does not know, is refused with 400 "
            "UnsupportedOperation (contracts/dashscope/*: errors)",
            r'^400 .*"code":"UnsupportedOperation"',
        )
    ],
}


def _schema(engine: Engine) -> Any:
    schema = schemathesis.openapi.from_asgi("/__wan26__/openapi.json", create_app(engine=engine))
    # the document's links only: inference would also chain one provider's submit to another's poll
    schema.config.phases.stateful.inference.algorithms = []
    # a status stream's first event shows its shape; the rest wait on a clock that moves between calls only
    schema.config.max_stream_events = 1

    @schema.auth(refresh_interval=None)
    class _MockKey:
        """Each provider's own scheme (the mock checks its form only)."""

        def get(self, case: Any, context: Any) -> str:
            return AUTH[case.operation.definition.raw["tags"][0]]

        def set(self, case: Any, data: str, context: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": data}

    @schema.hook
    def map_case(context: Any, case: Any) -> Any:
        """Positive bodies get fetchable media: the schema says "string" where every provider wants a URL it can
        fetch, and a refused submit makes no job for the links to follow."""
        if case.meta is not None and not case.meta.is_negative_at(ParameterLocation.BODY) and isinstance(case.body, dict):
            case.body = _with_media_urls(case.body)
        return case

    return schema


def _with_media_urls(node: Any, key: str = "") -> Any:
    if isinstance(node, dict) and isinstance(node.get("type"), str) and "url" in node:  # a Wan 2.7 media item
        kind = "png" if re.search("image|frame", node["type"]) else "mp3" if "audio" in node["type"] else "mp4"
        return {k: _media_url(v, kind) if k == "url" else _with_media_urls(v, k) for k, v in node.items()}
    if isinstance(node, dict):
        return {k: _with_media_urls(v, k) for k, v in node.items()}
    if isinstance(node, list):
        return [_with_media_urls(v, key) for v in node]
    if isinstance(node, str) and re.search(r"(urls?|_image|voice)$", key):
        return _media_url(node, "png" if re.search("image|img", key) else "mp3" if re.search("audio|voice", key) else "mp4")
    return node


def _media_url(node: Any, kind: str) -> Any:
    """A fetchable URL of that kind in place of a generated string (one already a URL stays)."""
    if not isinstance(node, str) or re.match(r"https?://[^/?#\s]+/", node):
        return node
    return f"https://media.example/{len(node)}.{kind}"


def _keys(exc: Failure | FailureGroup) -> Iterator[tuple[str, Failure]]:
    for failure in exc.exceptions if isinstance(exc, FailureGroup) else [exc]:
        scenario = getattr(failure, "scenario", None)
        yield (f"{failure.code}:{scenario}" if scenario is not None else failure.code), failure


class Found:
    """What the checks flagged: server errors, answers ``EXPECTED`` covers (counted), everything else (one example)."""

    def __init__(self) -> None:
        self.server_errors: dict[tuple[str, str], str] = {}
        self.unexpected: dict[tuple[str, str], str] = {}
        self.expected: dict[tuple[str, str], int] = defaultdict(int)

    def add(self, label: str, exc: Failure | FailureGroup, case: Any, response: Any) -> None:
        answer = f"{response.status_code} {response.text}"
        for key, failure in _keys(exc):
            shown = f"{failure.title}: {str(failure.message)[:400]} | {case.method} {case.formatted_path} -> {answer[:400]}"
            if isinstance(failure, ServerError):  # a 5xx, whatever check saw it
                self.server_errors.setdefault((label, key), shown)
                continue
            where = (label, key) if (label, key) in EXPECTED else ("*", key)
            if any(re.search(a.answer, answer, re.DOTALL) and a.when(case) for a in EXPECTED.get(where, [])):
                self.expected[where] += 1
            else:
                self.unexpected.setdefault((label, key), shown)


def _assert_clean(found: Found) -> None:
    assert found.server_errors == {}, "a server error"
    assert found.unexpected == {}, "a check failed and EXPECTED does not cover it: fix the mock, or list it with the reason"


@pytest.fixture
def engine() -> Engine:
    return Engine(builtin_registry(), seed=3, frozen_clock=True)


def test_every_registered_check_runs() -> None:
    names = {check.__name__ for check in ALL_CHECKS}
    assert {
        "not_a_server_error",
        "ignored_auth",
        "use_after_free",
        "ensure_resource_availability",
        "negative_data_rejection",
    } <= names
    assert names == set(CHECKS.get_all_names())


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_every_check_on_every_operation(engine: Engine, mode: GenerationMode) -> None:
    found = Found()
    for result in _schema(engine).get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=MAX_EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def probe(case: Any) -> None:
            response = case.call()
            try:
                case.validate_response(response, checks=ALL_CHECKS)
            except (Failure, FailureGroup) as exc:
                found.add(operation.label, exc, case, response)  # noqa: B023 - probe runs inside this iteration

        probe()
    _assert_clean(found)


@pytest.mark.parametrize("modes", [[GenerationMode.POSITIVE], list(GenerationMode)], ids=["positive", "positive+negative"])
def test_every_check_on_submit_then_the_jobs_own_routes_through_the_links(engine: Engine, modes: list[GenerationMode]) -> None:
    found = Found()
    followed: dict[str, set[int]] = defaultdict(set)  # link -> statuses its target answered for the linked job
    schema = _schema(engine)
    schema.config.generation.modes = schema.config.phases.stateful.generation.modes = modes

    class EveryCheck(schema.as_state_machine()):  # type: ignore[misc]
        def step(self, input: Any) -> Any:
            output = super().step(input)
            if input.transition is not None and input.is_applied:
                followed[input.transition.id].add(output.response.status_code)
            return output

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            engine.clock.advance(STEP_SECONDS)

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            try:
                case.validate_response(response, checks=ALL_CHECKS, transport_kwargs=kwargs or None, recorder=self.recorder)
            except (Failure, FailureGroup) as exc:
                found.add(case.operation.label, exc, case, response)

    EveryCheck.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=STATEFUL_STEPS,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    _assert_clean(found)
    if modes == [GenerationMode.POSITIVE]:
        # the chains happened: on every provider, a submit's job id reached a job route that answered it with a 2xx
        answered = {link.split(" -> ")[0] for link, statuses in followed.items() if any(200 <= s < 300 for s in statuses)}
        for provider, submits in SUBMITS.items():
            assert answered & set(submits), (provider, dict(followed))
