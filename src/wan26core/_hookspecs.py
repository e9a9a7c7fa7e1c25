"""The hooks a wan26 plugin may implement."""

from __future__ import annotations

from collections.abc import Callable

import pluggy

from wan26core._provider import Provider

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("wan26")
hookimpl = pluggy.HookimplMarker("wan26")


@hookspec
def wan26_register_providers(register: Callable[[Provider], None]) -> None:
    """Call ``register(provider)`` once for each provider/model endpoint the plugin serves."""
