"""The plugin passes wan26's conformance kit: contract, rendering, recorded answers, errors, ordering, lifecycle."""

from __future__ import annotations

from wan26core.testing import ProviderConformance


class TestWaveSpeed(ProviderConformance):
    provider = "wavespeed"  # the entry point in pyproject.toml: [project.entry-points.wan26] wavespeed = ...
