"""Example tests built from the example payloads of the provider documents (recorded in the contracts).

That each documented request renders to exactly its documented body (or breaks exactly its recorded rules) is a check
of the conformance kit, run for every built-in endpoint in tests/conformance; this file keeps what the kit does not do.
"""

from __future__ import annotations

from typing import Any

import pytest

from support import CONTRACTS
from wan26core import GenerationRequest, read_back

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


@pytest.mark.parametrize(("provider_id", "example"), READ_BACK, ids=_ids(READ_BACK))
def test_documented_bodies_read_back_to_the_canonical_names(provider_id: str, example: dict[str, Any]) -> None:
    request = GenerationRequest.from_dict(example["canonical"])
    by_source = {r.source: r.name for r in request.references}
    names = [by_source[s] for s in read_back(example["body"], CONTRACTS[provider_id])]
    assert set(names) == set(by_source.values()), "every reference of the documented body is named in its prompt"
