"""wan26 plugin for AI/ML API: Wan 2.6 and 2.7 reference-to-video and image-to-video through AI/ML API's /v2/video/generations.

Registered through the ``wan26`` entry-point group, exactly as a third-party plugin would be.
The wire format follows the contracts in ``contracts/aimlapi/``.
"""

from __future__ import annotations

from collections.abc import Callable

from wan26core import plugin

from .dialect import DIALECT
from .protocol import AimlapiClientProtocol

__all__ = ["DIALECT", "MODELS", "AimlapiClientProtocol", "wan26_register_providers"]

PROVIDER = "aimlapi"
MODELS = ("r2v", "i2v", "r2v-2.7", "i2v-2.7")


@plugin.hookimpl
def wan26_register_providers(register: Callable[[plugin.Provider], None]) -> None:
    for model in MODELS:
        contract = plugin.builtin_contract(f"{PROVIDER}/{model}")
        register(plugin.ContractProvider(contract, dialect=DIALECT, protocol=AimlapiClientProtocol(contract)))
