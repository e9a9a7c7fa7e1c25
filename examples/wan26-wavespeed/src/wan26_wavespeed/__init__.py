"""wan26 plugin for WaveSpeedAI: Wan 2.6 reference-to-video, with its client protocol and a mock dialect.

An example of a third-party plugin: it ships its own contract and registers through the ``wan26``
entry-point group (``[project.entry-points.wan26] wavespeed = "wan26_wavespeed"``).
"""

from __future__ import annotations

from collections.abc import Callable

from wan26core import plugin

from .contracts import load_contract
from .dialect import DIALECT, WaveSpeedDialect
from .protocol import WaveSpeedClientProtocol

__all__ = [
    "DIALECT",
    "MODELS",
    "PROVIDER",
    "WaveSpeedClientProtocol",
    "WaveSpeedDialect",
    "load_contract",
    "wan26_register_providers",
]

PROVIDER = "wavespeed"
MODELS = ("r2v",)


@plugin.hookimpl
def wan26_register_providers(register: Callable[[plugin.Provider], None]) -> None:
    for model in MODELS:
        contract = load_contract(model)
        register(plugin.ContractProvider(contract, dialect=DIALECT, protocol=WaveSpeedClientProtocol(contract)))
