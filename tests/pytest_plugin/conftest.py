"""The plugin's fixtures in our own suite: the built-in providers only, a fast clock, a fixed seed."""

from __future__ import annotations

import pytest

from support import builtin_registry
from wan26core.testing.config import MockConfig


@pytest.fixture(scope="session")
def wan26_mock_config() -> MockConfig:
    """Overrides the plugin's: what a user does in a conftest.py to choose the providers and the clock."""
    return MockConfig(registry=builtin_registry(), seed=3, time_scale=20)  # a job takes about 50 ms
