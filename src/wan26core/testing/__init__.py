"""Testing toolkit: the pytest plugin (``wan26core.testing.plugin``) and the conformance kit for provider plugins.

pytest imports this package in every run (the ``pytest11`` entry point), also where Hypothesis or the mock is
not installed, so nothing is imported here until a name is used:

>>> from wan26core.testing import ProviderConformance  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wan26core._lazy import lazy_names as _lazy_names

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

__getattr__ = _lazy_names(__name__, __name__, _LAZY, globals(), __all__)[0]


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
