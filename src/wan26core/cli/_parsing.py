"""One argparse helper shared by the command modules: several subcommands that take the same arguments."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["Argument", "add_commands"]

#: one ``add_argument`` call: its names and its keywords
Argument = tuple[tuple[str, ...], dict[str, Any]]


def add_commands(sub: Any, commands: Iterable[tuple[str, Callable[..., int], str]], arguments: Iterable[Argument]) -> None:
    """Add each ``(name, handler, help)`` of ``commands`` to the subparsers ``sub``, all with ``arguments``."""
    shared = list(arguments)
    for name, handler, text in commands:
        cmd = sub.add_parser(name, help=text)
        for names, options in shared:
            cmd.add_argument(*names, **options)
        cmd.set_defaults(handler=handler)
