"""Testing toolkit: the pytest plugin (``wan26core.testing.plugin``) and the conformance kit for provider plugins.

pytest imports this package in every run (the ``pytest11`` entry point), also where Hypothesis or the mock is
not installed, so nothing is imported here until a name is used:

>>> from wan26core.testing import ProviderConformance  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wan26core.testing.config import MockConfig
    from wan26core.testing.conformance import ProviderConformance
    from wan26core.testing.control import JournalEntry
    from wan26core.testing.kit_checks import ConformanceError
    from wan26core.testing.kit_strategies import expected_sources, minimal_request, valid_requests
    from wan26core.testing.kit_target import ConformanceTarget
    from wan26core.testing.live import LiveMock
    from wan26core.testing.routes import MockRoutes

__all__ = [
    "ConformanceError",
    "ConformanceTarget",
    "JournalEntry",
    "LiveMock",
    "MockConfig",
    "MockRoutes",
    "ProviderConformance",
    "expected_sources",
    "minimal_request",
    "valid_requests",
]

_LAZY = {
    "MockConfig": "config",
    "JournalEntry": "control",
    "LiveMock": "live",
    "MockRoutes": "routes",
    "ProviderConformance": "conformance",
    "ConformanceError": "kit_checks",
    "ConformanceTarget": "kit_target",
    "expected_sources": "kit_strategies",
    "minimal_request": "kit_strategies",
    "valid_requests": "kit_strategies",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
