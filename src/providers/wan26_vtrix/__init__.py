"""wan26 plugin for Vtrix: Wan 2.6 reference-to-video (wan26_r2v) on Vtrix's Bearer-token task API.

Registered through the ``wan26`` entry-point group, exactly as a third-party plugin would be.
The wire format follows the contracts in ``contracts/vtrix/``.
"""

from __future__ import annotations

from collections.abc import Callable

from wan26core import plugin

from .dialect import DIALECT
from .protocol import VtrixClientProtocol

__all__ = ["DIALECT", "MODELS", "VtrixClientProtocol", "wan26_register_providers"]

PROVIDER = "vtrix"
MODELS = ("r2v",)


@plugin.hookimpl
def wan26_register_providers(register: Callable[[plugin.Provider], None]) -> None:
    for model in MODELS:
        contract = plugin.builtin_contract(f"{PROVIDER}/{model}")
        register(plugin.ContractProvider(contract, dialect=DIALECT, protocol=VtrixClientProtocol(contract)))
