"""Found by the secrets suite running ``wan26 generate`` in four threads: the first use of a registry from several
threads at once let one thread see a half-loaded plugin set, cache it, and answer "unknown provider" from then on.

Here the plugins' entry points load slowly (as a first import does), so the threads overlap for sure.
"""

from __future__ import annotations

import importlib.metadata
import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest

from support import BUILTIN_PLUGINS, EXPECTED_IDS
from wan26core._plugins import Registry


@dataclass
class SlowEntryPoint:
    name: str
    plugin: Any
    value: str = "tests"
    dist: Any = None

    def load(self) -> Any:
        time.sleep(0.02)  # an import that takes a while
        return self.plugin


def test_threads_sharing_a_fresh_registry_all_see_every_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    points = [SlowEntryPoint(plugin.__name__.removeprefix("wan26_"), plugin) for plugin in BUILTIN_PLUGINS]
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: points)  # what wan26core._plugins calls
    monkeypatch.delenv("WAN26_LOAD_PLUGINS", raising=False)
    registry = Registry()
    start = threading.Barrier(8)
    seen: list[list[str]] = []

    def use() -> None:
        start.wait()
        seen.append(sorted(registry.providers()))

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [EXPECTED_IDS] * 8
    assert registry.get("vtrix/r2v").id == "vtrix/r2v"
