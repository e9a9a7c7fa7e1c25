"""Shared configuration: Hypothesis profiles and a registry that loads only the built-in plugins."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

import pgkit
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


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of this session's own on a real PostgreSQL server (tests/pgkit.py: started if none is given)."""
    with pgkit.server() as url, pgkit.database(url) as database:
        yield database


@pytest.fixture
def postgres_url(postgres_database: str) -> Iterator[str]:
    """A ``postgresql://`` journal URL of this test's own (a fresh schema), for ``--journal`` or ``Client(journal=…)``."""
    with pgkit.schema(postgres_database) as url:
        yield url
