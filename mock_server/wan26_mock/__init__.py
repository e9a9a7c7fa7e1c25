"""wan26_mock: an offline mock of every Wan 2.6 and 2.7 provider, built from the plugins' dialects and contracts."""

from __future__ import annotations

from .app import create_app
from .engine import ADMIN_PREFIX, Engine
from .faults import SCENARIO_HEADER, SCENARIOS

__all__ = ["ADMIN_PREFIX", "SCENARIOS", "SCENARIO_HEADER", "Engine", "create_app"]
