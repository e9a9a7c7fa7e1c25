"""wan26 plugin for fal.ai: Wan 2.6 (standard and flash) and Wan 2.7 reference-to-video and image-to-video on fal's queue API.

Registered through the ``wan26`` entry-point group, exactly as a third-party plugin would be.
The wire format follows the contracts in ``contracts/fal/``.
"""

from __future__ import annotations

from collections.abc import Callable

from wan26core import plugin

from .dialect import FalDialect
from .protocol import FalClientProtocol

__all__ = ["DIALECT", "MODELS", "FalClientProtocol", "FalDialect", "wan26_register_providers"]

PROVIDER = "fal"
MODELS = ("r2v", "r2v-flash", "i2v", "r2v-2.7", "i2v-2.7")
#: fal's queue protocol, server side (for the wan26 mock); one instance for all models, which share its routes
DIALECT = FalDialect([f"{PROVIDER}/{model}" for model in MODELS])


@plugin.hookimpl
def wan26_register_providers(register: Callable[[plugin.Provider], None]) -> None:
    for model in MODELS:
        contract = plugin.builtin_contract(f"{PROVIDER}/{model}")
        register(plugin.ContractProvider(contract, dialect=DIALECT, protocol=FalClientProtocol(contract)))
