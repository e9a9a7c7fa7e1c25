"""The plugin core: hooks, registration, entry points and WAN26_LOAD_PLUGINS."""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from typing import Any

import pytest

from support import EXPECTED_IDS
from wan26core import (
    ContractProvider,
    PluginError,
    Provider,
    Registry,
    UnknownProviderError,
    builtin_contract,
    hookimpl,
)


class OnePlugin:
    def __init__(self, *providers: Any) -> None:
        self.providers = providers

    @hookimpl
    def wan26_register_providers(self, register: Callable[[Provider], None]) -> None:
        for provider in self.providers:
            register(provider)


def test_builtin_plugins_register_every_endpoint(registry: Registry) -> None:
    assert list(registry.providers()) == EXPECTED_IDS
    assert all(isinstance(p, Provider) for p in registry.providers().values())


def test_a_registry_without_entry_points_sees_only_what_it_is_given() -> None:
    assert Registry(entry_points=False).providers() == {}
    flash = ContractProvider(builtin_contract("fal/r2v-flash"))
    assert list(Registry([OnePlugin(flash)], entry_points=False).providers()) == ["fal/r2v-flash"]


def test_duplicate_provider_ids_are_refused() -> None:
    flash = ContractProvider(builtin_contract("fal/r2v-flash"))
    registry = Registry([OnePlugin(flash), OnePlugin(flash)], entry_points=False)
    with pytest.raises(PluginError, match="two plugins register"):
        registry.providers()


def test_objects_that_are_not_providers_are_refused() -> None:
    with pytest.raises(PluginError, match="not a wan26 Provider"):
        Registry([OnePlugin(object())], entry_points=False).providers()


def test_a_failing_plugin_is_named() -> None:
    class Broken:
        @hookimpl
        def wan26_register_providers(self, register: Callable[[Provider], None]) -> None:
            raise RuntimeError("contract missing")

    registry = Registry(entry_points=False)
    registry.register_plugin(Broken(), name="broken")
    with pytest.raises(PluginError, match=r"broken.*contract missing"):
        registry.providers()


def test_unknown_provider_suggests_close_ids(registry: Registry) -> None:
    with pytest.raises(UnknownProviderError, match="fal/r2v-flash"):
        registry.get("fal/r2v-flsh")


def test_builtin_providers_are_declared_as_wan26_entry_points() -> None:
    declared = {ep.name: ep.value for ep in metadata.entry_points(group="wan26") if ep.dist and ep.dist.name == "wan26"}
    assert declared == {"fal": "wan26_fal", "aimlapi": "wan26_aimlapi", "vtrix": "wan26_vtrix", "dashscope": "wan26_dashscope"}


def test_entry_points_load_lazily_and_respect_wan26_load_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAN26_LOAD_PLUGINS", "fal,vtrix")
    assert sorted(Registry().providers()) == ["fal/i2v", "fal/i2v-2.7", "fal/r2v", "fal/r2v-2.7", "fal/r2v-flash", "vtrix/r2v"]
    monkeypatch.setenv("WAN26_LOAD_PLUGINS", "")
    assert Registry().providers() == {}
    monkeypatch.delenv("WAN26_LOAD_PLUGINS")
    assert set(EXPECTED_IDS) <= set(Registry().providers())
