"""Test helpers: the built-in registry, and the kit's Hypothesis strategies for requests each endpoint accepts."""

from __future__ import annotations

import wan26_aimlapi
import wan26_dashscope
import wan26_fal
import wan26_vtrix
from wan26core import Contract, Registry
from wan26core.testing.kit_strategies import expected_sources, media_url, plain_text, reference_names, valid_requests

__all__ = [
    "BUILTIN_PLUGINS",
    "CONTRACTS",
    "EXPECTED_IDS",
    "I2V",
    "PROVIDERS",
    "R2V",
    "SIZE_TABLE",
    "builtin_registry",
    "expected_sources",
    "media_url",
    "names",
    "plain_text",
    "valid_requests",
]

BUILTIN_PLUGINS = (wan26_fal, wan26_aimlapi, wan26_vtrix, wan26_dashscope)
EXPECTED_IDS = [
    "aimlapi/i2v",
    "aimlapi/i2v-2.7",
    "aimlapi/r2v",
    "aimlapi/r2v-2.7",
    "dashscope/i2v",
    "dashscope/i2v-2.7",
    "dashscope/r2v",
    "dashscope/r2v-2.7",
    "dashscope/r2v-flash",
    "fal/i2v",
    "fal/i2v-2.7",
    "fal/r2v",
    "fal/r2v-2.7",
    "fal/r2v-flash",
    "vtrix/r2v",
]


def builtin_registry() -> Registry:
    return Registry(plugins=BUILTIN_PLUGINS, entry_points=False)


_REGISTRY = builtin_registry()
PROVIDERS = _REGISTRY.providers()
CONTRACTS: dict[str, Contract] = {pid: p.contract for pid, p in PROVIDERS.items()}
R2V = sorted(pid for pid, c in CONTRACTS.items() if c.task == "r2v")
I2V = sorted(pid for pid, c in CONTRACTS.items() if c.task == "i2v")
SIZE_TABLE = sorted(pid for pid, c in CONTRACTS.items() if c.size_table)

# the strategies live in the conformance kit, where third-party plugins get them too
names = reference_names
