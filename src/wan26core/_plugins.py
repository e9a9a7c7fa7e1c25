"""Finding providers: pluggy, the ``wan26`` entry-point group and ``WAN26_LOAD_PLUGINS``."""

from __future__ import annotations

import difflib
import os
import threading
from collections.abc import Iterable
from importlib import metadata
from typing import Any

import pluggy

from wan26core import _hookspecs as hookspecs
from wan26core._errors import PluginError, UnknownProviderError
from wan26core._provider import Provider

__all__ = ["ENTRY_POINT_GROUP", "Registry", "default_registry", "get_provider"]

ENTRY_POINT_GROUP = "wan26"
LOAD_ENV = "WAN26_LOAD_PLUGINS"


class Registry:
    """A set of plugins and the provider endpoints they register.

    ``Registry()`` loads the installed ``wan26`` entry points lazily, on first use, restricted to the
    comma-separated names in ``WAN26_LOAD_PLUGINS`` when that is set (an empty value loads none).
    ``Registry(plugins=[...], entry_points=False)`` sees only what it is given, which is what tests want.
    """

    def __init__(self, plugins: Iterable[Any] = (), *, entry_points: bool = True) -> None:
        self._pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self._pm.add_hookspecs(hookspecs)
        self._want_entry_points = entry_points
        self._entry_points_loaded = False
        self._providers: dict[str, Provider] | None = None
        # threads share the process-wide registry: one loads the plugins, the others wait for the whole set
        # (unlocked, a thread could see a half-loaded set, cache it and answer "unknown provider" from then on)
        self._lock = threading.RLock()
        for plugin in plugins:
            self.register_plugin(plugin)

    def register_plugin(self, plugin: Any, name: str | None = None) -> None:
        """Add a plugin (a module or object with ``@hookimpl`` functions)."""
        with self._lock:
            try:
                self._pm.register(plugin, name=name)
            except ValueError as exc:
                raise PluginError(f"cannot register plugin {name or plugin!r}: {exc}") from exc
            self._providers = None

    def plugin_names(self) -> list[str]:
        self._load_entry_points()
        return sorted(str(self._pm.get_name(p)) for p in self._pm.get_plugins())

    def providers(self) -> dict[str, Provider]:
        """Every registered endpoint by id, sorted."""
        with self._lock:
            if self._providers is None:
                self._load_entry_points()
                found: dict[str, Provider] = {}

                def register(provider: Provider) -> None:
                    if not isinstance(provider, Provider):
                        raise PluginError(f"{provider!r} is not a wan26 Provider (id, contract, protocol, dialect, render)")
                    if provider.id in found:
                        raise PluginError(f"two plugins register the provider {provider.id!r}")
                    found[provider.id] = provider

                for impl in self._pm.hook.wan26_register_providers.get_hookimpls():
                    try:
                        impl.function(register=register)
                    except PluginError:
                        raise
                    except Exception as exc:  # name the plugin instead of leaking its traceback
                        raise PluginError(f"plugin {impl.plugin_name!r} failed to register its providers: {exc!r}") from exc
                self._providers = dict(sorted(found.items()))
            return self._providers

    def get(self, provider_id: str) -> Provider:
        """The endpoint ``provider/model``; :class:`UnknownProviderError` lists what exists."""
        providers = self.providers()
        try:
            return providers[provider_id] if provider_id in providers else providers[self.aliases()[provider_id]]
        except KeyError:
            close = difflib.get_close_matches(provider_id, providers, n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            known = ", ".join(providers) or "none (no plugins loaded; check WAN26_LOAD_PLUGINS)"
            raise UnknownProviderError(f"unknown provider {provider_id!r}.{hint} Registered: {known}") from None

    def aliases(self) -> dict[str, str]:
        """Other ids of registered endpoints (``fal/r2v-2.6`` -> ``fal/r2v``), from their contracts' ``aliases``;
        a registered id always wins over an alias."""
        providers = self.providers()
        found: dict[str, str] = {}
        for provider_id, provider in providers.items():
            family = provider_id.split("/", 1)[0]
            for alias in provider.contract.aliases:
                found.setdefault(f"{family}/{alias}", provider_id)
        return {alias: target for alias, target in found.items() if alias not in providers}

    def _load_entry_points(self) -> None:
        with self._lock:
            if not self._want_entry_points or self._entry_points_loaded:
                return
            self._entry_points_loaded = True
            wanted = os.environ.get(LOAD_ENV)
            allowed = None if wanted is None else {w.strip() for w in wanted.split(",") if w.strip()}
            for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
                dist = entry_point.dist.name if entry_point.dist else None
                if allowed is not None and entry_point.name not in allowed and dist not in allowed:
                    continue
                if self._pm.get_plugin(entry_point.name) is not None:
                    continue
                try:
                    plugin = entry_point.load()
                except Exception as exc:  # a broken third-party plugin must say who it is
                    raise PluginError(f"cannot load wan26 plugin {entry_point.name!r} ({entry_point.value}): {exc}") from exc
                self.register_plugin(plugin, name=entry_point.name)


_default: Registry | None = None
_default_lock = threading.Lock()


def default_registry() -> Registry:
    """The process-wide registry of installed plugins, created on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Registry()
        return _default


def get_provider(provider_id: str) -> Provider:
    """Shortcut for ``default_registry().get(provider_id)``."""
    return default_registry().get(provider_id)
