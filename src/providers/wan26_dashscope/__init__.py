"""wan26 plugin for Alibaba DashScope: Wan 2.6 (standard and flash) and Wan 2.7 reference-to-video and image-to-video
on Alibaba Cloud Model Studio (DashScope).

Registered through the ``wan26`` entry-point group, exactly as a third-party plugin would be.
The wire format follows the contracts in ``contracts/dashscope/``.
"""

from __future__ import annotations

from collections.abc import Callable

from wan26core import plugin

from .dialect import DIALECT
from .protocol import DashScopeClientProtocol

__all__ = ["DIALECT", "MODELS", "DashScopeClientProtocol", "wan26_register_providers"]

PROVIDER = "dashscope"
MODELS = ("r2v", "r2v-flash", "i2v", "r2v-2.7", "i2v-2.7")


@plugin.hookimpl
def wan26_register_providers(register: Callable[[plugin.Provider], None]) -> None:
    for model in MODELS:
        contract = plugin.builtin_contract(f"{PROVIDER}/{model}")
        register(plugin.ContractProvider(contract, dialect=DIALECT, protocol=DashScopeClientProtocol(contract)))
