"""Each drift class is detected on a mutated copy of a recording, with its severity; the seeds show none."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from driftkit import ROOT, check_dir, exchange, mutated, write

from support import CONTRACTS, EXPECTED_IDS
from wan26core.drift._drift import DRIFT_CLASSES, check_exchange, expectations, infer_schema


def test_the_shipped_recordings_and_examples_show_no_drift(tmp_path: Path) -> None:
    report = check_dir(ROOT / "contracts" / "recordings", strict=True)
    assert report.ok, report.render()
    assert sorted(report.contracts) == EXPECTED_IDS
    assert all(r.exchanges >= 10 for r in report.contracts.values())
    assert {f.drift for f in report.findings()} <= {"status_unobserved"}  # info only: no exchange shows RUNNING etc.


def _parent(item: dict[str, Any], path: str) -> tuple[Any, str]:
    """The container of a dotted path's last part (digits index lists) and that part."""
    node: Any = item
    *parents, last = path.split(".")
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node, last


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(item: dict[str, Any]) -> None:
        node, last = _parent(item, path)
        node[last] = value

    return change


def _rename(path: str, new: str) -> Callable[[dict[str, Any]], None]:
    def change(item: dict[str, Any]) -> None:
        node, last = _parent(item, path)
        node[new] = node.pop(last)

    return change


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def change(item: dict[str, Any]) -> None:
        node, last = _parent(item, path)
        del node[last]

    return change


def _msg(text: str) -> Callable[[dict[str, Any]], None]:
    def change(item: dict[str, Any]) -> None:
        item["response"]["body"]["detail"][0]["msg"] = text

    return change


# (id, contract, recording, example, mutation, drift class, severity, path)
MUTATIONS = [
    (
        "renamed field",
        "fal/r2v-flash",
        "seed-examples",
        "fal status IN_QUEUE",
        _rename("response.body.queue_position", "position"),
        "field_renamed",
        "breaking",
        "$.queue_position",
    ),
    (
        "removed field",
        "vtrix/r2v",
        "seed-examples",
        "status completed (shape)",
        _delete("response.body.model"),
        "field_removed",
        "breaking",
        "$.model",
    ),
    (
        "removed nested field",
        "fal/r2v",
        "seed-examples",
        "seed000 output example",
        _delete("response.body.video.url"),
        "field_removed",
        "breaking",
        "$.video.url",
    ),
    (
        "changed type",
        "dashscope/r2v",
        "seed-examples",
        "create response",
        _set("response.body.output.task_id", 12345),
        "type_changed",
        "breaking",
        "$.output.task_id",
    ),
    (
        "closed value",
        "fal/r2v-flash",
        "seed-examples",
        "fal webhook OK",
        _set("request.body.status", "SUCCESS"),
        "value_changed",
        "breaking",
        "$.status",
    ),
    (
        "new status value",
        "aimlapi/r2v",
        "seed-examples",
        "status while generating",
        _set("response.body.status", "processing"),
        "status_added",
        "breaking",
        "$.status",
    ),
    (
        "renamed status value",
        "dashscope/i2v",
        "seed-examples",
        "query: task succeeded",
        _set("response.body.output.task_status", "SUCCESS"),
        "status_added",
        "breaking",
        "$.output.task_status",
    ),
    (
        "new error code",
        "dashscope/i2v",
        "seed-errors",
        "errors/Throttling",
        _set("response.body.code", "Throttling.Burst"),
        "error_code_added",
        "warning",
        "$.code",
    ),
    (
        "new fal error type",
        "fal/i2v",
        "seed-examples",
        "fal content policy error",
        _set("response.body.detail.0.type", "nsfw_detected"),
        "error_code_added",
        "warning",
        "$.detail[*].type",
    ),
    (
        "new HTTP status",
        "vtrix/r2v",
        "seed-errors",
        "errors/429",
        _set("response.status", 418),
        "http_status_added",
        "warning",
        "",
    ),
    (
        "added field",
        "fal/r2v",
        "seed-examples",
        "seed000 output example",
        _set("response.body.has_nsfw_concepts", [False]),
        "field_added",
        "warning",
        "$.has_nsfw_concepts",
    ),
    (
        "lower prompt limit",
        "fal/r2v-flash",
        "seed-errors",
        "errors/string_too_long",
        _msg("String should have at most 1000 characters"),
        "limit_tightened",
        "breaking",
        "limits.prompt.max_length",
    ),
    (
        "higher prompt limit",
        "fal/r2v-flash",
        "seed-errors",
        "errors/string_too_long",
        _msg("String should have at most 2000 characters"),
        "limit_relaxed",
        "warning",
        "limits.prompt.max_length",
    ),
    (
        "lower video count",
        "fal/r2v-flash",
        "seed-errors",
        "errors/too_long",
        _msg("List should have at most 2 items after validation, not 4"),
        "limit_tightened",
        "breaking",
        "limits.references.video.max",
    ),
    (
        "lower literal limit",
        "vtrix/r2v",
        "seed-errors",
        "errors/001028003",
        _set("response.body.error.message", "reference_urls can contain maximum 2 videos"),
        "limit_tightened",
        "breaking",
        "limits.references.video.max",
    ),
    (
        "fewer enum values",
        "fal/r2v",
        "seed-errors",
        "errors/enum",
        _msg("Input should be '1080p'"),
        "limit_tightened",
        "breaking",
        "request.resolution",
    ),
    (
        "more enum values",
        "fal/r2v",
        "seed-errors",
        "errors/enum",
        _msg("Input should be '480p', '720p' or '1080p'"),
        "limit_relaxed",
        "warning",
        "request.resolution",
    ),
    (
        "text body",
        "aimlapi/i2v",
        "seed-examples",
        "create response",
        _set("response.body", "<html>502 Bad Gateway</html>"),
        "body_not_json",
        "breaking",
        "$",
    ),
    (
        "moved route",
        "dashscope/r2v",
        "seed-examples",
        "create response",
        _set("request.path", "/api/v2/services/aigc/video-generation/video-synthesis"),
        "route_changed",
        "breaking",
        "",
    ),
]


@pytest.mark.parametrize(
    ("contract_id", "name", "example", "change", "drift", "severity", "path"),
    [pytest.param(*m[1:], id=m[0]) for m in MUTATIONS],
)
def test_a_mutated_recording_reports_its_drift_class(
    tmp_path: Path,
    contract_id: str,
    name: str,
    example: str,
    change: Callable[[dict[str, Any]], None],
    drift: str,
    severity: str,
    path: str,
) -> None:
    report, findings = mutated(tmp_path, contract_id, name, example, change)
    hits = [f for f in findings if f.drift == drift]
    assert hits, f"expected {drift}; found {[(f.drift, f.path, f.message) for f in findings]}"
    assert hits[0].severity == severity == DRIFT_CLASSES[drift][0]
    assert hits[0].path == path and hits[0].contract == contract_id
    assert report.ok == (severity != "breaking")
    assert drift in report.render() and contract_id in report.render()


def test_a_rename_names_both_fields(tmp_path: Path) -> None:
    _, findings = mutated(
        tmp_path, "fal/r2v-flash", "seed-examples", "fal status IN_QUEUE", _rename("response.body.queue_position", "position")
    )
    assert [(f.drift, f.expected, f.actual) for f in findings] == [("field_renamed", "queue_position", "position")]


def test_warnings_fail_only_under_strict(tmp_path: Path) -> None:
    change = _set("response.body.code", "Throttling.Burst")
    relaxed, _ = mutated(tmp_path, "dashscope/i2v", "seed-errors", "errors/Throttling", change)
    strict, _ = mutated(tmp_path, "dashscope/i2v", "seed-errors", "errors/Throttling", change, strict=True)
    assert relaxed.ok and relaxed.count("warning") == 1
    assert not strict.ok and "--strict" in strict.render()


def test_headers_the_official_clients_read_are_checked_on_live_recordings(tmp_path: Path) -> None:
    item = exchange("fal/r2v", "seed-examples", "seed000 output example")
    item.update(origin="live", source="wan26 contracts record")
    item["response"]["headers"] = {"content-type": "text/html"}
    write(tmp_path, "fal/r2v", [item])
    found = {(f.drift, f.path) for f in check_dir(tmp_path, "fal/r2v").findings() if "mutated.json" in f.where}
    assert found == {("header_removed", "x-fal-request-id"), ("header_changed", "content-type")}


def test_an_accepted_request_beyond_the_contract_is_a_relaxed_limit(tmp_path: Path) -> None:
    item = exchange("fal/r2v-flash", "seed-examples", "seed001 input example")
    item["request"]["body"]["video_urls"] *= 4  # 4 videos; the contract allows 3
    item["request"]["body"]["watermark"] = False  # a field the request schema does not know
    item["response"] = {
        "status": 200,
        "headers": None,
        "body": exchange("fal/r2v-flash", "seed-examples", "fal submit response")["response"]["body"],
    }
    item["origin"] = "live"
    write(tmp_path, "fal/r2v-flash", [item])
    found = {(f.drift, f.path) for f in check_dir(tmp_path, "fal/r2v-flash").findings() if "mutated.json" in f.where}
    assert found == {("limit_relaxed", "$.video_urls"), ("request_relaxed", "$")}


def test_a_documented_request_over_a_wan26_limit_is_not_drift() -> None:
    item = exchange("fal/i2v", "seed-examples", "seed002 input example")
    assert item["breaks"] == ["prompt.max_length"]
    assert check_exchange(CONTRACTS["fal/i2v"], item) == []
    del item["breaks"]
    assert [f.drift for f in check_exchange(CONTRACTS["fal/i2v"], item)] == ["limit_relaxed"]


def test_invalid_stale_and_orphan_recordings_are_reported(tmp_path: Path) -> None:
    stale = exchange("vtrix/r2v", "seed-examples", "create response (shape)")
    stale["note"] = "edited by hand"
    write(tmp_path, "vtrix/r2v", [stale], name="seed-examples")
    broken = tmp_path / "vtrix" / "r2v" / "broken.json"
    broken.write_text('{"recording_version": 1, "contract": "vtrix/r2v"}', encoding="utf-8")
    orphan = tmp_path / "acme" / "v1" / "live.json"
    orphan.parent.mkdir(parents=True)
    orphan.write_text('{"recording_version": 1, "contract": "acme/v1", "exchanges": []}', encoding="utf-8")
    report = check_dir(tmp_path)
    classes = {f.drift: f for f in report.findings()}
    assert classes["seed_stale"].severity == "warning" and "wan26 contracts seed" in classes["seed_stale"].message
    assert classes["recording_invalid"].severity == "breaking" and "exchanges" in classes["recording_invalid"].message
    assert classes["contract_unknown"].contract == "acme/v1"
    assert not report.ok


@pytest.mark.parametrize("provider_id", EXPECTED_IDS)
def test_every_contract_describes_its_responses(provider_id: str) -> None:
    import jsonschema

    expected = expectations(CONTRACTS[provider_id])
    assert {"submit", "status", "result", "error"} <= set(expected)
    assert expected["submit"].job_id, "verify-mock needs to know where the job id is"
    for kind, expectation in expected.items():
        assert not expectation.inferred, f"{kind} is inferred; write it in the contract's responses section"
        assert expectation.schema is not None
        jsonschema.Draft202012Validator.check_schema(dict(expectation.schema))


def test_a_contract_without_responses_is_checked_against_its_examples() -> None:
    data = {k: v for k, v in CONTRACTS["aimlapi/r2v"].data.items() if k != "responses"}
    contract = type(CONTRACTS["aimlapi/r2v"])(data)
    expected = expectations(contract)
    assert expected["status"].inferred and expected["error"].error_code == ("statusCode",)
    item = exchange("aimlapi/r2v", "seed-examples", "status while generating")
    assert check_exchange(contract, item) == []
    del item["response"]["body"]["id"]
    assert [f.drift for f in check_exchange(contract, item)] == ["field_removed"]


def test_inferred_schemas_require_what_every_example_has() -> None:
    schema = infer_schema([{"a": 1, "b": "x"}, {"a": 2.5, "c": None}])
    assert schema == {
        "type": "object",
        "properties": {"a": {"type": "number"}, "b": {"type": "string"}, "c": {"type": "null"}},
        "required": ["a"],
    }


def test_every_drift_class_is_documented() -> None:
    text = (ROOT / "docs" / "contract-drift.md").read_text(encoding="utf-8")
    for name, (severity, _) in DRIFT_CLASSES.items():
        assert f"`{name}`" in text, f"{name} is not in docs/contract-drift.md"
        assert f"| `{name}` | {severity} |" in text, f"{name}: docs/contract-drift.md does not give its severity {severity}"
