"""Cost estimates from the contract's documented pricing."""

from __future__ import annotations

from dataclasses import dataclass

from wan26core._contract import Contract
from wan26core._rules.request import GenerationRequest
from wan26core._rules.validation import OPTION_FIELDS

__all__ = ["CostEstimate", "estimate_cost"]


@dataclass(frozen=True)
class CostEstimate:
    """``usd`` for ``seconds`` of video at ``per_second``, priced as of ``as_of``."""

    usd: float
    per_second: float
    seconds: int
    as_of: str
    note: str | None = None

    def __str__(self) -> str:
        return f"${self.usd:.4f} ({self.seconds} s x ${self.per_second:g}/s, prices as of {self.as_of})"


def estimate_cost(request: GenerationRequest, contract: Contract) -> CostEstimate | None:
    """The estimated price, or ``None`` where the provider documents no price (or no rate matches)."""
    pricing = contract.data["pricing"]
    if not pricing.get("documented"):
        return None
    effective = {name: getattr(request, attr) for name, attr in OPTION_FIELDS.items()}
    for name, value in effective.items():
        if value is None:
            effective[name] = contract.default(name)
    seconds = effective["duration"]
    if not isinstance(seconds, int):
        return None
    for rate in pricing["rates"]:
        if all(effective.get(k) == v for k, v in rate["when"].items()):
            per_second = float(rate["per_second"])
            return CostEstimate(round(per_second * seconds, 6), per_second, seconds, pricing["as_of"], pricing.get("note"))
    return None
