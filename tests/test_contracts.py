"""Every contract file satisfies contracts/schema, is shipped in the wheel, and is internally consistent."""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from support import CONTRACTS, EXPECTED_IDS
from wan26core import Contract, PluginError, contract_problems, contract_schema

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted(p for p in (ROOT / "contracts").glob("*/*.json") if p.parent.name != "schema")


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(contract_schema())


def test_one_contract_per_endpoint() -> None:
    ids = sorted(_load(p)["id"] for p in FILES)
    assert ids == EXPECTED_IDS
    for path in FILES:
        assert _load(path)["id"] == f"{path.parent.name}/{path.stem}", f"{path} holds another id"


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_contract_satisfies_the_schema(path: Path) -> None:
    assert contract_problems(_load(path)) == []


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_installed_contract_is_the_repository_file(path: Path) -> None:
    installed = resources.files("wan26_contracts").joinpath(path.parent.name).joinpath(path.name)
    assert json.loads(installed.read_text(encoding="utf-8")) == _load(path)


@pytest.mark.parametrize("provider_id", EXPECTED_IDS)
def test_conflicts_name_both_readings_and_the_enforced_rule(provider_id: str) -> None:
    for conflict in CONTRACTS[provider_id].data["conflicts"]:
        assert len(conflict["readings"]) >= 2
        assert conflict["why"].strip()


@pytest.mark.parametrize("provider_id", EXPECTED_IDS)
def test_routes_and_auth_are_complete(provider_id: str) -> None:
    transport = CONTRACTS[provider_id].transport
    assert transport["base_url"].startswith("https://")
    assert transport["auth"]["env"], "the key's environment variable is named"
    assert {"submit", "status", "result"} <= set(transport["routes"])


def test_vtrix_catalogue_has_every_documented_code() -> None:
    codes = {e["code"] for e in CONTRACTS["vtrix/r2v"].data["errors"]}
    documented = {f"00102800{i}" for i in range(1, 5)} | {f"0010280{i}" for i in range(95, 100)}
    assert documented <= codes


def test_dashscope_submit_requires_the_async_header() -> None:
    for pid in ("dashscope/r2v", "dashscope/r2v-flash", "dashscope/i2v"):
        assert CONTRACTS[pid].transport["headers"] == {"X-DashScope-Async": "enable"}


def test_a_broken_contract_is_refused_with_every_reason() -> None:
    data = copy.deepcopy(CONTRACTS["vtrix/r2v"].data)
    del data["limits"]["prompt"]["max_length"]
    data["timing"]["source"] = "nosuchdoc#section"
    data["options"]["duration"]["supported"] = "yes"
    problems = contract_problems(data)
    assert any("max_length" in p for p in problems)
    assert any("nosuchdoc" in p for p in problems)
    assert any("supported" in p or "'yes'" in p for p in problems)
    with pytest.raises(PluginError, match="does not satisfy"):
        Contract.from_data(data, origin="mutated")


def test_a_request_example_that_breaks_the_wire_schema_is_reported() -> None:
    data = copy.deepcopy(CONTRACTS["fal/r2v-flash"].data)
    example = next(e for e in data["examples"] if e["kind"] == "request")
    example["body"]["duration"] = 7
    assert any("request.schema" in p for p in contract_problems(data))
