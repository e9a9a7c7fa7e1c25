"""The plugin's contracts, shipped inside the package and checked against wan26's contract schema on load."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from wan26core import plugin

__all__ = ["load_contract"]


@cache
def load_contract(model: str) -> plugin.Contract:
    """``wavespeed/<model>`` from ``contracts/<model>.json``; :class:`PluginError` says what is wrong with it."""
    ref = resources.files(__name__).joinpath(f"{model}.json")
    try:
        data = json.loads(ref.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise plugin.PluginError(f"cannot read the wavespeed contract {model!r}: {exc}") from exc
    return plugin.Contract.from_data(data, origin=f"wan26_wavespeed/contracts/{model}.json")
