"""What the conformance kit checks: one plugin, found by its ``wan26`` entry point or given as an object.

The kit loads exactly that plugin into a private :class:`~wan26core.Registry` (no other installed plugin,
whatever ``WAN26_LOAD_PLUGINS`` says), so a check never passes because of someone else's provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from wan26core._contract import Contract
from wan26core._errors import PluginError
from wan26core._plugins import ENTRY_POINT_GROUP, Registry
from wan26core._provider import Provider

__all__ = ["ConformanceTarget", "entry_point_plugin"]


def entry_point_plugin(name: str) -> Any:
    """The plugin object behind the ``wan26`` entry point ``name`` (``[project.entry-points.wan26]``)."""
    found = [ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not found:
        known = sorted({ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)})
        raise PluginError(
            f"no installed distribution declares a {ENTRY_POINT_GROUP!r} entry point named {name!r} "
            f"(declared: {', '.join(known) or 'none'}); add it under [project.entry-points.{ENTRY_POINT_GROUP}] "
            "in the plugin's pyproject.toml and install the plugin, or set `plugin = <module>` on the test class"
        )
    try:
        return found[0].load()
    except Exception as exc:
        raise PluginError(f"cannot load wan26 plugin {name!r} ({found[0].value}): {exc!r}") from exc


@dataclass
class ConformanceTarget:
    """A plugin under test, its registry and the endpoints (``provider/model``) to check."""

    provider: str
    plugin: Any
    registry: Registry
    endpoint_ids: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, provider: str, plugin: Any = None, models: tuple[str, ...] | None = None) -> ConformanceTarget:
        """Load ``plugin`` (default: the entry point named ``provider``) and pick its ``provider/*`` endpoints."""
        if not provider:
            raise PluginError("set `provider = '<name>'` on the conformance test class (the provider part of its ids)")
        plugin = plugin if plugin is not None else entry_point_plugin(provider)
        registry = Registry(plugins=[plugin], entry_points=False)
        registered = registry.providers()
        ids = [pid for pid in registered if pid.split("/", 1)[0] == provider]
        if not ids:
            raise PluginError(
                f"plugin {getattr(plugin, '__name__', plugin)!r} registers no endpoint of provider {provider!r} "
                f"(it registers: {', '.join(registered) or 'nothing'}); its wan26_register_providers hook must call "
                "register(ContractProvider(contract, dialect=..., protocol=...)) once per model"
            )
        if models is not None:
            missing = sorted(f"{provider}/{m}" for m in models if f"{provider}/{m}" not in registered)
            if missing:
                raise PluginError(f"models {missing} are not registered by the plugin; it registers {ids}")
            ids = [f"{provider}/{m}" for m in models]
        return cls(provider, plugin, registry, ids)

    def endpoint(self, provider_id: str) -> Provider:
        return self.registry.get(provider_id)

    def contract(self, provider_id: str) -> Contract:
        return self.endpoint(provider_id).contract
