"""Cost estimates come from the contract's documented pricing, and are None where nothing is documented."""

from __future__ import annotations

from typing import Any

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
    billed_input = contract.limits["reference_video"]["duration_s"] if pricing.get("bills_input_video") else {}
    assert estimate.seconds == contract.default("duration") + billed_input.get("min", 0)
    assert estimate.seconds_max == contract.default("duration") + billed_input.get("max", 0)
    assert estimate.usd == pytest.approx(estimate.per_second * estimate.seconds)
    assert estimate.per_second in [r["per_second"] for r in pricing["rates"]]


def test_fal_27_r2v_bills_input_video_seconds_as_a_range_until_probed(tmp_path: Any) -> None:
    """fal: 'billing duration is calculated as input video duration + output video duration' (an 8 s input and a
    3 s output bill 11 s); without the input's duration the estimate spans the durations the contract allows."""
    contract = CONTRACTS["fal/r2v-2.7"]
    bound = contract.limits["reference_video"]["duration_s"]
    two = (Reference("a", "https://media.example/a.mp4", "video"), Reference("b", "https://media.example/b.mp4", "video"))
    estimate = estimate_cost(GenerationRequest("@a and @b", two, duration=3), contract)
    assert estimate is not None
    assert (estimate.seconds, estimate.seconds_max) == (3 + 2 * bound["min"], 3 + 2 * bound["max"])
    assert estimate.usd_max == pytest.approx(0.10 * (3 + 2 * bound["max"]))
    assert " to $" in str(estimate) and "--probe" in str(estimate)
    images_only = estimate_cost(
        GenerationRequest("@a", (Reference("a", "https://media.example/a.png", "image"),), duration=3), contract
    )
    assert images_only is not None and images_only.usd == images_only.usd_max == pytest.approx(0.30)
    assert " to $" not in str(images_only)


def test_fal_standard_r2v_price_scales_with_resolution_and_duration() -> None:
    contract = CONTRACTS["fal/r2v"]
    cheap = estimate_cost(GenerationRequest("@a", REFS, resolution="720p", duration=5), contract)
    dear = estimate_cost(GenerationRequest("@a", REFS, resolution="1080p", duration=10), contract)
    assert cheap is not None and dear is not None
    assert cheap.usd == pytest.approx(0.5) and dear.usd == pytest.approx(1.5)
