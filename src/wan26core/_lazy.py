"""Names imported on first use (PEP 562), for the modules that declare a public surface: ``wan26core``,
``wan26core.plugin`` and ``wan26core.testing`` list where each name lives, and this builds their ``__getattr__``
and ``__dir__``. Importing such a module costs nothing until a name is used (``wan26 --help`` stays fast)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    owner: str, base: str, table: Mapping[str, str], namespace: MutableMapping[str, Any], public: Sequence[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for module ``owner``: name ``n`` comes from module ``{base}.{table[n]}`` and is
    then kept in ``namespace`` (the next access is a plain global)."""

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {owner!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{base}.{module}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(public)

    return __getattr__, __dir__
