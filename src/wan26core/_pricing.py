"""Cost estimates from the contract's documented pricing.

Most endpoints bill the output's seconds. Some (fal's Wan 2.7 reference-to-video: ``pricing.bills_input_video``) bill
the reference videos' seconds too: the estimate then needs their durations, measured with ``--probe`` (the
``[media]`` extra), or it is a range over the durations the contract allows (``limits.reference_video.duration_s``).
"""

from __future__ import annotations

from dataclasses import dataclass

from wan26core._contract import Contract
from wan26core._rules.request import GenerationRequest
from wan26core._rules.validation import OPTION_FIELDS

__all__ = ["CostEstimate", "estimate_cost"]


@dataclass(frozen=True)
class CostEstimate:
    """``usd`` for ``seconds`` of billed video at ``per_second``, priced as of ``as_of``; a range up to ``usd_max`` for
    ``seconds_max`` when billed input seconds are not known."""

    usd: float
    per_second: float
    seconds: float
    as_of: str
    note: str | None = None
    usd_max: float | None = None
    seconds_max: float | None = None

    def as_json(self) -> dict[str, float | None]:
        """The figures a script reads: ``estimated_cost_usd`` and, where it is a range, ``estimated_cost_usd_max``."""
        return {"estimated_cost_usd": self.usd, "estimated_cost_usd_max": self.usd_max}

    def __str__(self) -> str:
        if self.usd_max is not None and self.usd_max != self.usd:
            return (
                f"${self.usd:.4f} to ${self.usd_max:.4f} ({self.seconds:g} to {self.seconds_max:g} billed s x "
                f"${self.per_second:g}/s: reference videos' seconds are billed too; --probe measures them; prices as "
                f"of {self.as_of})"
            )
        return f"${self.usd:.4f} ({self.seconds:g} s x ${self.per_second:g}/s, prices as of {self.as_of})"


def estimate_cost(request: GenerationRequest, contract: Contract, *, probe: bool = False) -> CostEstimate | None:
    """The estimated price, or ``None`` where the provider documents no price (or no rate matches). ``probe``:
    measure billed input videos (needs the ``[media]`` extra) instead of giving a range."""
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
    rate = next((r for r in pricing["rates"] if all(effective.get(k) == v for k, v in r["when"].items())), None)
    if rate is None:
        return None
    per_second = float(rate["per_second"])
    low, high = _input_seconds(request, contract, probe) if pricing.get("bills_input_video") else (0.0, 0.0)
    return CostEstimate(
        round(per_second * (seconds + low), 6),
        per_second,
        seconds + low,
        pricing["as_of"],
        pricing.get("note"),
        usd_max=round(per_second * (seconds + high), 6),
        seconds_max=seconds + high,
    )


def _input_seconds(request: GenerationRequest, contract: Contract, probe: bool) -> tuple[float, float]:
    """The billed seconds of the reference videos: measured when probing (and measurable), else the contract's
    allowed range for each."""
    bound = contract.limits.get("reference_video", {}).get("duration_s", {})
    low = high = 0.0
    for ref in request.references:
        if ref.resolved_kind != "video":
            continue
        measured = _duration(ref.source) if probe else None
        low += measured if measured is not None else float(bound.get("min", 0))
        high += measured if measured is not None else float(bound.get("max", bound.get("min", 0)))
    return low, high


def _duration(source: str) -> float | None:
    """A video's duration in seconds, probed; None when it cannot be measured."""
    from wan26core._media import probe_bytes, probe_file, probe_url
    from wan26core._rules.request import source_type

    try:
        kind = source_type(source)
        info = probe_url(source) if kind == "url" else probe_bytes(source) if kind == "data" else probe_file(source)
    except Exception:
        return None
    return info.duration
