"""The conformance kit's offline checks: contract, plugin surface, rendering, examples, errors, references.

Each check takes a registered endpoint and raises :class:`ConformanceError` with a message in a plugin
author's terms: which contract field, which example, which native code, and what to change. They are
plain functions, so they run under pytest (through :class:`~wan26core.testing.ProviderConformance`) or
anywhere else.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import jsonschema

from wan26core import _errors as errors
from wan26core._contract import contract_problems
from wan26core._dialect import Dialect
from wan26core._protocol import ClientProtocol, HttpReply, JobRef, error_for
from wan26core._provider import Provider
from wan26core._rules.references import get_path, per_kind, read_back, wire_lists
from wan26core._rules.request import GenerationRequest
from wan26core._rules.validation import validate
from wan26core._rules.wire import check_wire
from wan26core.testing.kit_strategies import expected_sources

__all__ = [
    "EXCEPTION_OF_KIND",
    "ConformanceError",
    "check_binding",
    "check_contract",
    "check_error_entry",
    "check_ordering",
    "check_plugin_surface",
    "check_render",
    "check_request_examples",
    "check_response_example",
    "check_unreferenced_endpoint",
]

#: catalogue ``kind`` -> the wan26 exception ``error_for`` must give for a refused request (not a failed job)
EXCEPTION_OF_KIND: dict[str, type[errors.Wan26Error]] = {
    "validation": errors.ValidationError,
    "unsupported_option": errors.ValidationError,
    "authentication": errors.AuthenticationError,
    "permission": errors.PermissionDeniedError,
    "rate_limit": errors.RateLimitError,
    "not_found": errors.JobNotFoundError,
    "provider": errors.ProviderError,
    "content_policy": errors.ContentPolicyError,
    "generation_failed": errors.GenerationFailedError,
    "timeout": errors.ProviderError,
    "conflict": errors.ProviderError,
    "cancelled": errors.ProviderError,
}


class ConformanceError(AssertionError):
    """A provider plugin breaks the wan26 contract conventions; the message says where and what to change."""


def _fail(provider_id: str, message: str) -> ConformanceError:
    return ConformanceError(f"{provider_id}: {message}")


#: what a registered endpoint lacks, and how its author adds it
_MISSING_PART = {
    "protocol": "the registered provider has no client protocol: register ContractProvider(contract, protocol=...) with a "
    "wan26core.plugin.ContractClientProtocol subclass (docs/writing-a-provider-plugin.md, section 2)",
    "dialect": "the registered provider has no mock dialect (wan26core.plugin.Dialect): pass ContractProvider(..., "
    "dialect=...) so `wan26 mock serve` and the kit's lifecycle checks can serve it",
}


def _protocol_of(provider: Provider) -> ClientProtocol:
    protocol = getattr(provider, "protocol", None)
    if not isinstance(protocol, ClientProtocol):
        raise _fail(provider.id, _MISSING_PART["protocol"])
    return protocol


def _reply(example: dict[str, Any], default_status: int = 200) -> HttpReply:
    headers = {k.lower(): v for k, v in example.get("headers", {}).items()}
    status = example.get("http_status") or default_status
    return HttpReply(status, headers, json.dumps(example["body"]).encode())


# --- contract and plugin surface ------------------------------------------------------------------


def check_contract(provider: Provider) -> None:
    """The contract satisfies ``contracts/schema``, names this endpoint, and its status examples use its vocabulary."""
    contract = provider.contract
    problems = contract_problems(contract.data)
    if problems:
        listing = "\n  - ".join(problems[:30])
        raise _fail(provider.id, f"contract {contract.origin} does not satisfy contracts/schema:\n  - {listing}")
    data = contract.data
    if contract.id != provider.id or f"{data['provider']}/{data['model']}" != contract.id:
        raise _fail(
            provider.id,
            f"contract {contract.origin}: id {data['id']!r}, provider {data['provider']!r} and model {data['model']!r} "
            f"must spell the registered id {provider.id!r}",
        )
    words = data["statuses"]["map"]
    for example in contract.examples("status_response"):
        native = get_path(example["body"], data["statuses"]["field"])
        if native not in words:
            raise _fail(
                provider.id,
                f"example {example['name']!r}: status {native!r} at statuses.field {data['statuses']['field']!r} "
                f"is not in statuses.map ({', '.join(words)})",
            )


def check_plugin_surface(provider: Provider) -> None:
    """The endpoint brings a client protocol for the runtime and a dialect for the mock, both for its own id."""
    protocol = _protocol_of(provider)
    if protocol.provider_id != provider.id:
        raise _fail(provider.id, f"its protocol answers for {protocol.provider_id!r}; build it from this endpoint's contract")
    dialect = getattr(provider, "dialect", None)
    if not isinstance(dialect, Dialect):
        raise _fail(provider.id, _MISSING_PART["dialect"])
    if dialect.provider != provider.id.split("/", 1)[0]:
        raise _fail(provider.id, f"its dialect serves provider {dialect.provider!r}, not {provider.id.split('/', 1)[0]!r}")
    actions = {route.action for route in dialect.routes()}
    missing = {"submit", "status"} - actions
    if missing:
        raise _fail(provider.id, f"dialect.routes() has no {sorted(missing)} route (transport.routes of the contract)")


# --- rendering ------------------------------------------------------------------------------------


def check_render(provider: Provider, request: GenerationRequest) -> dict[str, Any]:
    """A request the contract accepts renders to a body its ``request.schema`` and the mock accept; the body."""
    contract = provider.contract
    errors = [v for v in validate(request, contract) if v.severity == "error"]
    if errors:
        listing = "; ".join(str(v) for v in errors)
        raise _fail(
            provider.id,
            f"a request drawn from the contract's own limits and options is refused: {listing}. Make limits, "
            f"options.*.values and references agree with each other. Request: {request.to_dict()}",
        )
    body = provider.render(request).body
    validator = jsonschema.Draft202012Validator(contract.request_schema)
    broken = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if broken:
        first = broken[0]
        where = ".".join(map(str, first.absolute_path)) or "$"
        raise _fail(
            provider.id,
            f"render() gave a body that breaks request.schema at {where}: {first.message}. Check the option's `wire` "
            f"path and `wire_values`, or request.schema. Request: {request.to_dict()}; body: {body}",
        )
    for path, value in contract.constants.items():
        if get_path(body, path) != value:
            raise _fail(provider.id, f"request.constants[{path!r}] = {value!r} is missing from the rendered body {body}")
    canonical, refused = check_wire(body, contract)
    if canonical is None or refused:
        listing = "; ".join(str(v) for v in refused) or "unreadable body"
        raise _fail(
            provider.id,
            f"the mock reads the rendered body back (wan26core._rules.wire.parse_wire) and refuses it: {listing}. "
            f"request.fields, options.*.wire and references.wire must describe the body render() builds. Body: {body}",
        )
    return body


def check_request_examples(provider: Provider) -> int:
    """Every documented request with a ``canonical`` form renders to exactly its body (or breaks its ``breaks``)."""
    contract = provider.contract
    checked = 0
    for example in contract.examples("request"):
        if "canonical" not in example:
            continue
        checked += 1
        request = GenerationRequest.from_dict(example["canonical"])
        rules = {v.rule for v in validate(request, contract) if v.severity == "error"}
        if "breaks" in example:
            if rules != set(example["breaks"]):
                raise _fail(
                    provider.id,
                    f"example {example['name']!r}: its canonical request breaks {sorted(rules)}, "
                    f"the example's `breaks` says {sorted(example['breaks'])}",
                )
            continue
        if rules:
            raise _fail(provider.id, f"example {example['name']!r}: its canonical request is refused: {sorted(rules)}")
        body = provider.render(request).body
        if body != example["body"]:
            raise _fail(
                provider.id,
                f"example {example['name']!r}: its canonical request renders to {body}, the documented body is {example['body']}",
            )
    if not checked:
        raise _fail(
            provider.id,
            "the contract records no request example with a `canonical` form: add the documented request body with the "
            "wan26 request that must render to it (examples[].kind 'request', 'canonical')",
        )
    return checked


# --- response examples ----------------------------------------------------------------------------


def check_response_example(provider: Provider, example: dict[str, Any]) -> None:
    """The client protocol reads a recorded response the way the example says (id, state, video, native code)."""
    protocol = _protocol_of(provider)
    contract = provider.contract
    ref = JobRef(provider.id, "job-1")
    name, kind = example["name"], example["kind"]
    text = json.dumps(example["body"]).replace("\\/", "/") + json.dumps(example.get("headers", {}))
    try:
        if kind == "submit_response":
            job = protocol.parse_submitted(_reply(example))
            if not job.job_id or job.job_id not in text or job.provider != provider.id:
                raise _fail(provider.id, f"example {name!r}: parse_submitted found job id {job.job_id!r}, not one in the body")
        elif kind in ("status_response", "result_response") and _reads_as_status(contract, example):
            status = protocol.parse_status(_reply(example), ref)
            if "canonical_state" in example and status.state != example["canonical_state"]:
                raise _fail(
                    provider.id,
                    f"example {name!r} ({kind}): parse_status gave state {status.state!r} (native {status.native!r}), "
                    f"the example says {example['canonical_state']!r}; check statuses.field and statuses.map",
                )
            if status.state == "failed" and (status.error is None or not status.error.native_code):
                raise _fail(provider.id, f"example {name!r}: a failed status carries no error with the native code")
            code = status.error.native_code if status.error is not None else None
            if status.state == "failed" and code is not None and code not in text and contract.error(code) is None:
                raise _fail(
                    provider.id,
                    f"example {name!r}: the failure's native code {code!r} is neither in the body nor in the errors catalogue",
                )
            if kind == "result_response" and status.state == "succeeded":
                video = status.video or protocol.parse_result(_reply(example), ref)
                if video.url not in text:
                    raise _fail(provider.id, f"example {name!r}: the video URL {video.url!r} is not the body's")
        elif kind == "result_response":
            video = protocol.parse_result(_reply(example), ref)
            if video.url not in text:
                raise _fail(provider.id, f"example {name!r}: parse_result found {video.url!r}, not the body's video URL")
        elif kind == "error_response":
            error = protocol.error_from(_reply(example), job_id="job-1")
            if error.http_status != example.get("http_status") or not error.native_code:
                raise _fail(
                    provider.id,
                    f"example {name!r}: error_from gave HTTP {error.http_status} code {error.native_code!r}, the example "
                    f"is HTTP {example.get('http_status')}",
                )
            if error.native_code not in text and error.native_code != str(example.get("http_status")):
                raise _fail(provider.id, f"example {name!r}: native code {error.native_code!r} appears nowhere in the body")
    except errors.Wan26Error as exc:
        if kind == "error_response":
            raise
        raise _fail(provider.id, f"example {name!r} ({kind}) does not parse: {type(exc).__name__}: {exc}") from exc


def _reads_as_status(contract: Any, example: dict[str, Any]) -> bool:
    """Status examples, and result examples where the result route is the status route."""
    if example["kind"] == "status_response":
        return True
    routes = contract.transport["routes"]
    return bool(routes["result"]["path"] == routes["status"]["path"])


# --- the error catalogue --------------------------------------------------------------------------


def check_error_entry(provider: Provider, index: int) -> None:
    """``errors[index]`` maps to the wan26 exception of its kind, keeps its code, and its ``body`` parses back to it."""
    contract = provider.contract
    entry = contract.data["errors"][index]
    where = f"errors[{index}] (code {entry['code']!r}, kind {entry['kind']!r}, HTTP {entry['http_status']})"
    native = errors.NativeError(entry["http_status"], entry["code"], entry["message"])
    error = error_for(contract, native, job_id="job-1")
    expected = EXCEPTION_OF_KIND[entry["kind"]]
    if not isinstance(error, expected) or error.native_code != entry["code"]:
        raise _fail(
            provider.id,
            f"{where}: error_for gives {type(error).__name__} with code {error.native_code!r}, expected {expected.__name__} "
            "keeping the code; an earlier entry with the same code and HTTP status takes precedence",
        )
    failed = error_for(contract, native, job_id="job-1", generation=True)
    if entry["kind"] in ("generation_failed", "content_policy") and (
        not isinstance(failed, expected) or getattr(failed, "job_id", None) != "job-1"
    ):
        raise _fail(provider.id, f"{where}: as a job's outcome it gives {type(failed).__name__}, expected {expected.__name__}")
    if "body" in entry:
        got, as_outcome = _error_from_body(provider, entry)
        want = type(failed) if as_outcome else expected  # a failed job's error is a GenerationFailedError
        in_body = json.dumps(entry["code"]) in json.dumps(entry["body"])  # the code is a value of the body
        if got is None or not isinstance(got, want) or (in_body and got.native_code != entry["code"]):
            found = f"{type(got).__name__} with code {got.native_code!r}" if got is not None else "no error"
            raise _fail(
                provider.id,
                f"{where}: its documented `body` {entry['body']} reads back as {found}, expected {want.__name__}"
                + (f" with code {entry['code']!r}" if in_body else "")
                + "; the client protocol's native_error_of (or error_in_success / failure_of for errors inside a 200 "
                "body) must find it",
            )


def _error_from_body(provider: Provider, entry: dict[str, Any]) -> tuple[errors.Wan26Error | None, bool]:
    """The error the protocol reads from an entry's body, and whether it reads it as a failed job's outcome."""
    protocol = _protocol_of(provider)
    body = json.dumps(entry["body"]).encode()
    if entry["http_status"] is not None:
        return protocol.error_from(HttpReply(entry["http_status"], {}, body), job_id="job-1"), False
    try:
        status = protocol.parse_status(HttpReply(200, {}, body), JobRef(provider.id, "job-1"))
    except errors.Wan26Error as exc:  # an error envelope inside a 200 answer
        return exc, False
    return status.error, True


# --- references -----------------------------------------------------------------------------------


def check_binding(provider: Provider, request: GenerationRequest) -> None:
    """Every token of the rendered prompt names the source the user meant, and every reference is sent once."""
    contract = provider.contract
    body = provider.render(request).body
    meant = expected_sources(request, kind_words=bool(contract.references) and per_kind(contract.data["references"]))
    read = read_back(body, contract)
    if read != meant:
        raise _fail(
            provider.id,
            f"the rendered prompt {get_path(body, contract.wire_fields['prompt'])!r} names {read}, the user meant {meant}; "
            f"check references.token ({contract.data['references']['token']!r}) and references.ordering",
        )
    wired = Counter(s for sources in wire_lists(body, contract).values() for s in sources)
    if wired != Counter(r.source for r in request.references):
        raise _fail(provider.id, f"references.wire lists carry {dict(wired)}, expected each reference once")


def check_ordering(provider: Provider, request: GenerationRequest) -> None:
    """The wire lists and token numbers follow ``references.ordering`` (``as_given`` or ``videos_first``)."""
    contract = provider.contract
    spec = contract.references
    assert spec is not None
    refs = list(request.references)
    if spec["ordering"] == "videos_first":
        order = [r for r in refs if r.resolved_kind == "video"] + [r for r in refs if r.resolved_kind == "image"]
    else:
        order = refs
    body = provider.render(request).body
    for kind, sent in wire_lists(body, contract).items():
        expected = [r.source for r in order if kind == "mixed" or r.resolved_kind == kind]
        if sent != expected:
            raise _fail(
                provider.id,
                f"references.ordering is {spec['ordering']!r}, so the {kind} references should be sent as {expected}; "
                f"render() sent {sent}",
            )
    named = request.replace(prompt=" ".join(f"@{r.name} x" for r in refs))
    prompt = get_path(provider.render(named).body, contract.wire_fields["prompt"])

    def token(ref: Any) -> str:
        if isinstance(spec["token"], str):
            return str(spec["token"]).replace("{n}", str(order.index(ref) + 1))
        same_kind = [r for r in order if r.resolved_kind == ref.resolved_kind]
        return str(spec["token"][ref.resolved_kind]).replace("{n}", str(same_kind.index(ref) + 1))

    want = " ".join(token(r) + " x" for r in refs)
    if prompt != want:
        raise _fail(
            provider.id,
            f"with references.ordering {spec['ordering']!r} and token {spec['token']!r}, '@name' tokens in the user's "
            f"order should render as {want!r}; render() gave {prompt!r}",
        )


def check_unreferenced_endpoint(provider: Provider, request: GenerationRequest) -> None:
    """An endpoint without a ``references`` section refuses ``@name`` tokens instead of sending them literally."""
    contract = provider.contract
    rules = {v.rule for v in validate(request.replace(prompt=request.prompt + " with @somebody"), contract)}
    if "references.unknown" not in rules:
        raise _fail(provider.id, f"an '@name' on an endpoint without references should be refused; got rules {sorted(rules)}")
