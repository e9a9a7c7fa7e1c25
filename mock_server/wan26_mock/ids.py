"""Request ids the engine draws for the dialects: a fresh UUID per request, as real providers give.

Dialects are pure, so the randomness lives here: :class:`~wan26core._dialect.MockRequest` carries the id drawn
for it. A seeded engine draws a reproducible sequence (the same ids in the same order on every run, again after
a reset), an unseeded one a random sequence.
"""

from __future__ import annotations

import random

__all__ = ["RequestIds"]

_VERSION_4 = (0x4 << 76) | (0x8 << 60)  # the version nibble and the RFC 4122 variant bits
_KEEP = ~((0xF << 76) | (0xC << 60)) & ((1 << 128) - 1)


class RequestIds:
    """Draws UUID4-shaped ids; ``seed`` makes the sequence reproducible."""

    def __init__(self, seed: int | None = None) -> None:
        self._seed = seed
        self._rng = random.Random(_stream(seed))

    def reset(self) -> None:
        self._rng = random.Random(_stream(self._seed))

    def next(self) -> str:
        n = self._rng.getrandbits(128) & _KEEP | _VERSION_4
        h = f"{n:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _stream(seed: int | None) -> str | None:
    """A seed of its own for the ids, so that drawing them leaves the job store's sequence (job ids, timings) as it was."""
    return None if seed is None else f"wan26-request-ids:{seed}"
