"""``wan26 contracts verify-mock``: drive the in-process mock through each contract's scenarios and check every answer.

Scenarios per contract: the documented request example, a full job (submit, status until it ends on the
mock's virtual clock, result), a cancel right after submit and one after completion (where the contract has
a cancel route), a request over the prompt limit, a request without a key, and an unknown job id. Every
exchange goes through :mod:`wan26core.drift._drift` (shape, status words, error codes, headers the official
clients read); scenario rules (the status code the contract's catalogue names, the end state) are checked
here. Needs the ``[mock]`` extra.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from wan26core._contract import Contract
from wan26core._errors import MissingExtraError, Wan26Error
from wan26core._plugins import Registry
from wan26core._rules.request import GenerationRequest, Reference
from wan26core.drift._drift import Finding, LocatedExchange, expectations
from wan26core.drift._recordings import RECORDING_VERSION, dump_recording, route_request, scrub, scrub_headers
from wan26core.drift._reports import ContractReport, DriftReport, check_contract
from wan26core.drift._requests import option_rank

__all__ = ["MockUnavailable", "VerifyRun", "verify_mock"]

MOCK_KEY = "wan26-verify-key"
SOURCE = "wan26 contracts verify-mock (wan26_mock, in process)"
POLL_STEP_S = 0.5
MAX_POLLS = 40
STREAM_TIMEOUT_S = 5.0
_TERMINAL = ("succeeded", "failed", "cancelled")


class MockUnavailable(MissingExtraError):
    """The mock server is not installed (the ``[mock]`` extra)."""


@dataclass
class VerifyRun:
    """The report of one verify-mock run and the exchanges it made, per contract."""

    report: DriftReport
    exchanges: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def recordings(self) -> dict[str, dict[str, Any]]:
        """The exchanges as recording files (``<provider>/<model>/mock.json``), for ``--save``."""
        return {
            f"{cid}/mock.json": {
                "$schema": "../../../schema/recording.schema.json",
                "recording_version": RECORDING_VERSION,
                "contract": cid,
                "name": "mock",
                "description": "Exchanges with the wan26 mock, written by `wan26 contracts verify-mock --save`.",
                "generated_by": "wan26 contracts verify-mock",
                "exchanges": exchanges,
            }
            for cid, exchanges in sorted(self.exchanges.items())
        }

    def save(self, root: Path) -> list[Path]:
        written = []
        for relative, data in self.recordings().items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(dump_recording(data), encoding="utf-8")
            written.append(path)
        return written


def verify_mock(
    registry: Registry,
    *,
    only: Sequence[str] = (),
    strict: bool = False,
    output_dir: str | Path | None = None,
) -> VerifyRun:
    """Run every scenario of every contract the mock serves (or only the ids in ``only``)."""
    try:
        import httpx  # noqa: F401  (a core dependency; the mock needs starlette, av and numpy)

        from wan26_mock import Engine, create_app
    except ImportError as exc:
        raise MockUnavailable(
            f"verify-mock needs the mock server: pip install 'wan26[mock]' (missing: {exc.name or exc})"
        ) from None
    engine = Engine(registry, seed=7, frozen_clock=True, output_dir=output_dir)
    app = create_app(engine=engine)
    contracts = {pid: c for by_id in engine.contracts.values() for pid, c in by_id.items() if not only or pid in only}
    unknown = sorted(set(only) - set(contracts))
    if unknown:
        raise Wan26Error(f"the mock serves no contract {', '.join(unknown)} (it serves {', '.join(sorted(contracts)) or 'none'})")
    providers = registry.providers()
    runs = asyncio.run(_run_all(app, contracts, providers))
    reports: dict[str, ContractReport] = {}
    exchanges: dict[str, list[dict[str, Any]]] = {}
    for pid, (recorded, scenario_findings) in runs.items():
        located = [LocatedExchange(e, f"mock {e.get('note', '')}".strip()) for e in recorded]
        report = check_contract(contracts[pid], located, coverage=False)  # a short run shows few status words
        for finding in scenario_findings:
            report.add(finding)
        reports[pid] = report
        exchanges[pid] = recorded
    return VerifyRun(DriftReport(reports, strict=strict), exchanges)


async def _run_all(app: Any, contracts: Mapping[str, Contract], providers: Mapping[str, Any]) -> dict[str, Any]:
    import httpx

    results: dict[str, Any] = {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock.test") as client:
        for pid, contract in sorted(contracts.items()):
            scenario = _Scenarios(client, contract, providers.get(pid))
            await scenario.run()
            results[pid] = (scenario.exchanges, scenario.findings)
    return results


class _Scenarios:
    def __init__(self, client: Any, contract: Contract, provider: Any) -> None:
        self.client = client
        self.contract = contract
        self.provider = provider
        self.routes: Mapping[str, Any] = contract.transport["routes"]
        self.expected = expectations(contract)
        self.exchanges: list[dict[str, Any]] = []
        self.findings: list[Finding] = []

    def fail(self, scenario: str, kind: str, message: str, expected: Any = None, actual: Any = None) -> None:
        self.findings.append(
            Finding(self.contract.id, "scenario_failed", kind, "", message, f"mock {scenario}", expected, actual)
        )

    async def run(self) -> None:
        example = next((e for e in self.contract.examples("request") if "breaks" not in e), None)
        if example is not None:
            await self.submit("documented example", example["body"])
        await self.lifecycle()
        if "cancel" in self.routes:
            await self.cancel_early()
        await self.invalid()
        await self.missing_key()
        await self.unknown_job()

    # --- scenarios --------------------------------------------------------------------------------
    async def lifecycle(self) -> None:
        job = await self.submit("lifecycle", self.minimal_body())
        if job is None:
            return
        state = "queued"
        for poll in range(MAX_POLLS):
            status = await self.call("lifecycle", "status", job)
            state = self.state(status)
            if state in _TERMINAL:
                break
            await self.advance(POLL_STEP_S)
            if poll == MAX_POLLS - 1:
                self.fail("lifecycle", "status", f"still {state} after {MAX_POLLS} polls", "succeeded", state)
        if state != "succeeded":
            self.fail("lifecycle", "status", f"the job ended {state}, not succeeded", "succeeded", state)
            return
        result = await self.call("lifecycle", "result", job)
        if result is not None:
            self.expect_success("lifecycle", "result", result)
        if "stream" in self.routes:
            await self.stream("stream after completion", job)
        if "cancel" in self.routes:
            late = await self.call("cancel after completion", "cancel", job)
            conflict = next((e for e in self.contract.data["errors"] if e["kind"] == "conflict"), None)
            if conflict is not None and late is not None and late["status"] != conflict["http_status"]:
                self.fail(
                    "cancel after completion",
                    "cancel",
                    f"HTTP {late['status']}; the catalogue answers {conflict['code']} with HTTP {conflict['http_status']}",
                    conflict["http_status"],
                    late["status"],
                )

    async def cancel_early(self) -> None:
        job = await self.submit("cancel", self.minimal_body())
        if job is None:
            return
        before = await self.call("cancel", "status", job)
        state = self.state(before)
        response = await self.call("cancel", "cancel", job)
        if response is None:
            return
        allowed = self.routes["cancel"].get("states", ["queued", "running"])
        if state in allowed:
            self.expect_success("cancel", "cancel", response)
        await self.call("cancel", "status", job)

    async def invalid(self) -> None:
        limit = int(self.contract.limits["prompt"]["max_length"])
        body = self.minimal_body()
        prompt_path = self.contract.wire_fields["prompt"]
        _set(body, prompt_path, str(_get(body, prompt_path) or "") + " x" * limit)
        native = self.contract.native_error("prompt.max_length", field="prompt", limit=limit, value=limit * 3)
        response = await self.call("prompt over the limit", "submit", None, body=body)
        if response is None or native is None:
            return
        wanted = native.http_status or _success(self.routes["submit"])[0]
        if response["status"] != wanted:
            self.fail(
                "prompt over the limit",
                "submit",
                f"HTTP {response['status']}; the catalogue says {wanted}",
                wanted,
                response["status"],
            )
        paths = [p for kind in ("error", "submit") if kind in self.expected for p in self.expected[kind].error_code]
        codes = {str(v) for path in paths for v in _values(response["body"], path)}
        if codes and native.code not in codes and str(native.http_status) not in codes:
            self.fail(
                "prompt over the limit",
                "submit",
                f"the answer names {sorted(codes)}, not {native.code}",
                native.code,
                sorted(codes),
            )

    async def missing_key(self) -> None:
        response = await self.call("missing key", "submit", None, body=self.minimal_body(), auth=False)
        entry = next((e for e in self.contract.data["errors"] if e["kind"] == "authentication"), None)
        wanted = entry["http_status"] if entry else 401
        if response is not None and response["status"] != wanted:
            self.fail(
                "missing key", "submit", f"HTTP {response['status']} without a key; expected {wanted}", wanted, response["status"]
            )

    async def unknown_job(self) -> None:
        await self.call("unknown job", "status", "wan26-verify-unknown-job")

    # --- requests ---------------------------------------------------------------------------------
    def minimal_body(self) -> dict[str, Any]:
        """The cheapest valid request the contract takes, rendered by the provider plugin itself."""
        contract = self.contract
        references: tuple[Reference, ...] = ()
        kwargs: dict[str, Any] = {}
        prompt = "a quiet lake at dawn"
        if contract.task == "r2v":
            counts = contract.limits["references"]
            kind: Literal["video", "image"] = "video" if counts["video"]["max"] >= 1 else "image"
            ext = "mp4" if kind == "video" else "png"
            references = (Reference("hero", f"https://media.example/hero.{ext}", kind),)
            prompt = "@hero walks by a quiet lake at dawn"
        else:
            kwargs["image"] = "https://media.example/frame.png"
        for option, attr in (("resolution", "resolution"), ("duration", "duration")):
            if contract.supports(option) and contract.option(option).get("values"):
                kwargs[attr] = min(contract.option(option)["values"], key=option_rank)
        if contract.supports("generate_audio"):
            kwargs["generate_audio"] = False
        request = GenerationRequest(prompt=prompt, references=references, **kwargs)
        wire = self.provider.render(request)
        return dict(json.loads(json.dumps(wire.body)))

    async def submit(self, scenario: str, body: Any) -> str | None:
        response = await self.call(scenario, "submit", None, body=body)
        if response is None or not self.expect_success(scenario, "submit", response):
            return None
        job_path = self.expected["submit"].job_id if "submit" in self.expected else None
        job = _get(response["body"], job_path) if job_path else None
        if not isinstance(job, str) or not job:
            self.fail(scenario, "submit", f"no job id at {job_path!r} of the submit answer", job_path, response["body"])
            return None
        return job

    async def stream(self, scenario: str, job: str) -> None:
        """The server-sent status stream of an ended job: every ``data:`` event is a status body, then it closes."""
        request = self.request("stream", job, auth=True)
        try:
            reply = await asyncio.wait_for(
                self.client.get(request["path"], params=request["query"] or None, headers=request["headers"]), STREAM_TIMEOUT_S
            )
        except asyncio.TimeoutError:
            self.fail(scenario, "stream", f"the stream of an ended job did not close within {STREAM_TIMEOUT_S:g} s")
            return
        events: list[Any] = []
        for line in reply.text.splitlines():
            if line.startswith("data:"):
                try:
                    events.append(json.loads(line[5:].strip()))
                except ValueError:
                    events.append(line[5:].strip())
        for event in events or [reply.text]:
            await self.record(scenario, "stream", request, reply, event)
        if reply.status_code >= 500:
            self.fail(scenario, "stream", f"HTTP {reply.status_code} though no fault was asked for", "< 500", reply.status_code)
        elif not events:
            self.fail(scenario, "stream", "no `data:` event in the stream", "data: {...}", reply.text[:80])
        elif self.state({"body": events[-1]}) not in _TERMINAL:
            self.fail(scenario, "stream", "the last event is not the job's end", "an ended state", events[-1])

    def request(self, action: str, job: str | None, *, auth: bool, body: Any = None) -> dict[str, Any]:
        template = route_request(self.contract, action)
        assert template is not None
        transport = self.contract.transport
        headers: dict[str, str] = {}
        if auth:
            headers[transport["auth"]["header"]] = f"{transport['auth']['scheme']} {MOCK_KEY}"
        if action == "submit":
            headers.update(transport.get("headers", {}))
        return {
            "method": template["method"],
            "path": _fill(template["path"], job),
            "query": {k: _fill(v, job) for k, v in template["query"].items()},
            "headers": headers,
            **({"body": body} if action == "submit" else {}),
        }

    async def call(
        self, scenario: str, action: str, job: str | None, *, body: Any = None, auth: bool = True
    ) -> dict[str, Any] | None:
        if action not in self.routes:
            return None
        request = self.request(action, job, auth=auth, body=body)
        reply = await self.client.request(
            request["method"],
            request["path"],
            params=request["query"] or None,
            headers=request["headers"],
            json=request.get("body"),
        )
        try:
            parsed: Any = reply.json()
        except ValueError:
            parsed = reply.text
        await self.record(scenario, action, request, reply, parsed)
        if reply.status_code >= 500:
            self.fail(scenario, action, f"HTTP {reply.status_code} though no fault was asked for", "< 500", reply.status_code)
        return {"status": reply.status_code, "body": parsed}

    async def record(self, scenario: str, action: str, request: Mapping[str, Any], reply: Any, body: Any) -> None:
        sent = {**request, "headers": scrub_headers(request["headers"])}
        if "body" in sent:
            sent["body"] = scrub(sent["body"])
        self.exchanges.append(
            {
                "action": action,
                "request": sent,
                "response": {"status": reply.status_code, "headers": scrub_headers(dict(reply.headers)), "body": scrub(body)},
                "note": scenario,
                "source": SOURCE,
                "recorded_at": await self.now(),
                "origin": "mock",
            }
        )

    def expect_success(self, scenario: str, action: str, response: Mapping[str, Any]) -> bool:
        success = _success(self.routes[action])
        failed = isinstance(response["body"], dict) and response["body"].get("status") == "failed"
        if response["status"] not in success or failed:
            shown = json.dumps(response["body"], ensure_ascii=False)[:160]
            self.fail(scenario, action, f"HTTP {response['status']} {shown}; expected success", success, response["status"])
            return False
        return True

    def state(self, response: Mapping[str, Any] | None) -> str:
        if response is None:
            return "unknown"
        statuses = self.contract.data["statuses"]
        word = _get(response["body"], str(statuses["field"]))
        state = self.contract.canonical_state(word) if isinstance(word, str) else "unknown"
        body = response["body"]
        if state == "succeeded" and isinstance(body, dict) and (body.get("error") or body.get("error_type")):
            return "failed"  # fal reports a failed or cancelled request as COMPLETED with an error
        return state

    async def advance(self, seconds: float) -> None:
        reply = await self.client.post("/__wan26__/clock/advance", json={"seconds": seconds})
        reply.raise_for_status()

    async def now(self) -> str:
        reply = await self.client.get("/__wan26__/clock")
        seconds = float(reply.json()["now"])
        return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _success(route: Mapping[str, Any]) -> list[int]:
    return list(route.get("success_status") or range(200, 300))


def _fill(template: str, job: str | None) -> str:
    if job is None:
        return template
    import re

    return re.sub(r"\{[a-z_]+\}", job, template)


def _get(body: Any, dotted: str) -> Any:
    node = body
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _values(body: Any, dotted: str) -> list[Any]:
    """Values at a dotted path where ``*`` is every list item."""
    nodes = [body]
    for part in dotted.split("."):
        step: list[Any] = []
        for node in nodes:
            if part == "*" and isinstance(node, list):
                step += node
            elif isinstance(node, dict) and part in node:
                step.append(node[part])
        nodes = step
    return nodes


def _set(body: dict[str, Any], dotted: str, value: Any) -> None:
    node = body
    *parents, last = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
