"""Shared configuration: Hypothesis profiles and a registry that loads only the built-in plugins."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from support import builtin_registry
from wan26core import Registry

# ci: the same examples on every run, so that main stays green by its own code (dev and thorough explore)
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="session")
def registry() -> Registry:
    """The four built-in plugins and nothing else that happens to be installed."""
    return builtin_registry()
