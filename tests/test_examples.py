"""Example tests built from the example payloads of the provider documents (recorded in the contracts)."""

from __future__ import annotations

from typing import Any

import pytest

from support import CONTRACTS, PROVIDERS
from wan26core import GenerationRequest, read_back, validate

CANONICAL = [
    (pid, example)
    for pid, contract in sorted(CONTRACTS.items())
    for example in contract.examples("request")
    if "canonical" in example
]
RENDERABLE = [(pid, e) for pid, e in CANONICAL if "breaks" not in e]
REFUSED = [(pid, e) for pid, e in CANONICAL if "breaks" in e]
READ_BACK = [(pid, e) for pid, e in RENDERABLE if CONTRACTS[pid].task == "r2v"]


def _ids(cases: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [f"{pid}:{example['name']}" for pid, example in cases]


def test_every_endpoint_has_a_request_example_with_its_canonical_form() -> None:
    assert {pid for pid, _ in CANONICAL} == set(CONTRACTS)
    assert {pid for pid, _ in RENDERABLE} >= set(CONTRACTS) - {"fal/i2v", "aimlapi/r2v"}


@pytest.mark.parametrize(("provider_id", "example"), RENDERABLE, ids=_ids(RENDERABLE))
def test_canonical_request_renders_exactly_the_documented_body(provider_id: str, example: dict[str, Any]) -> None:
    request = GenerationRequest.from_dict(example["canonical"])
    assert [v for v in validate(request, CONTRACTS[provider_id]) if v.severity == "error"] == []
    assert PROVIDERS[provider_id].render(request).body == example["body"]


@pytest.mark.parametrize(("provider_id", "example"), REFUSED, ids=_ids(REFUSED))
def test_documented_examples_wan26_refuses_break_exactly_the_recorded_rules(provider_id: str, example: dict[str, Any]) -> None:
    request = GenerationRequest.from_dict(example["canonical"])
    errors = {v.rule for v in validate(request, CONTRACTS[provider_id]) if v.severity == "error"}
    assert errors == set(example["breaks"])


@pytest.mark.parametrize(("provider_id", "example"), READ_BACK, ids=_ids(READ_BACK))
def test_documented_bodies_read_back_to_the_canonical_names(provider_id: str, example: dict[str, Any]) -> None:
    request = GenerationRequest.from_dict(example["canonical"])
    by_source = {r.source: r.name for r in request.references}
    names = [by_source[s] for s in read_back(example["body"], CONTRACTS[provider_id])]
    assert set(names) == set(by_source.values()), "every reference of the documented body is named in its prompt"
