"""Cost estimates come from the contract's documented pricing, and are None where nothing is documented."""

from __future__ import annotations

import pytest

from support import CONTRACTS
from wan26core import GenerationRequest, Reference, estimate_cost

REFS = (Reference("a", "https://media.example/a.mp4", "video"),)


@pytest.mark.parametrize("provider_id", sorted(CONTRACTS))
def test_estimate_matches_a_documented_rate_or_is_none(provider_id: str) -> None:
    contract = CONTRACTS[provider_id]
    image = "https://media.example/f.png" if contract.task == "i2v" else None
    refs = REFS if contract.task == "r2v" else ()
    request = GenerationRequest("@a runs" if refs else "it runs", refs, image=image)
    estimate = estimate_cost(request, contract)
    pricing = contract.data["pricing"]
    if not pricing["documented"]:
        assert estimate is None
        return
    assert estimate is not None
    assert estimate.seconds == contract.default("duration")
    assert estimate.usd == pytest.approx(estimate.per_second * estimate.seconds)
    assert estimate.per_second in [r["per_second"] for r in pricing["rates"]]


def test_fal_standard_r2v_price_scales_with_resolution_and_duration() -> None:
    contract = CONTRACTS["fal/r2v"]
    cheap = estimate_cost(GenerationRequest("@a", REFS, resolution="720p", duration=5), contract)
    dear = estimate_cost(GenerationRequest("@a", REFS, resolution="1080p", duration=10), contract)
    assert cheap is not None and dear is not None
    assert cheap.usd == pytest.approx(0.5) and dear.usd == pytest.approx(1.5)
