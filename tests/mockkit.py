"""Helpers for tests that drive the mock engine in process through Starlette's test client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from wan26_mock import SCENARIO_HEADER, create_app
from wan26_mock.engine import Engine
from wan26core import Registry

CANARY = "canary-secret-123"  # a key that must never show up in the journal
SCENARIO = SCENARIO_HEADER


@contextmanager
def mock_client(*plugins: Any, seed: int = 7, output_dir: Path | None = None) -> Iterator[TestClient]:
    """A mock of exactly ``plugins`` on a frozen virtual clock, reached at http://mock.test."""
    engine = Engine(Registry(plugins=list(plugins), entry_points=False), seed=seed, frozen_clock=True, output_dir=output_dir)
    with TestClient(create_app(engine=engine), base_url="http://mock.test") as client:
        yield client


def advance(client: TestClient, seconds: float) -> None:
    """Move the mock's virtual clock forward."""
    assert client.post("/__wan26__/clock/advance", json={"seconds": seconds}).status_code == 200
