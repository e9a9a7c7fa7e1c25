"""Which dialect route a request is for: each dialect's route templates compiled once, grouped by method, with the
flags the engine reads from the dialect (``cacheable``, ``request_ids``, ``trailing_slash``)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from wan26core._dialect import (
    Dialect,
)

__all__ = ["DialectRoute", "Router", "compile_path", "draws_request_ids"]


@dataclass(frozen=True)
class DialectRoute:
    method: str
    pattern: re.Pattern[str]
    dialect: Dialect
    action: str
    cacheable: bool  # the dialect's status/result answers may be reused while the job's phase holds
    request_ids: bool  # the dialect writes request ids: each request gets a fresh one (MockRequest.request_id)
    trailing_slash: bool  # the provider answers its paths with a trailing slash too


def is_cacheable(dialect: Dialect) -> bool:
    """A dialect opts in with ``cacheable = True``: its status and result answers depend only on the request's
    method, path, query and base URL and on the job snapshot (not on headers, body or the clock)."""
    return getattr(dialect, "cacheable", False) is True


def draws_request_ids(dialect: Dialect) -> bool:
    """A dialect opts in with ``request_ids = True``: it writes the id of each request into its answers (drawing
    one costs a microsecond, which the status polls of the other dialects do not pay)."""
    return getattr(dialect, "request_ids", False) is True


def takes_trailing_slash(dialect: Dialect) -> bool:
    """A dialect opts in with ``trailing_slash = True``: its provider answers ``/path/`` as ``/path`` (a quirk of the
    provider's, which an official client relies on)."""
    return getattr(dialect, "trailing_slash", False) is True


def compile_path(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[a-z_]+\})", template)
    regex = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(regex)


class Router:
    """The routes of every dialect, tried in order; a dialect with ``trailing_slash`` also answers ``/path/``."""

    def __init__(self, dialects: Iterable[Dialect]) -> None:
        self.routes = [
            DialectRoute(
                route.method.upper(),
                compile_path(route.path),
                dialect,
                route.action,
                is_cacheable(dialect),
                draws_request_ids(dialect),
                takes_trailing_slash(dialect),
            )
            for dialect in dialects
            for route in dialect.routes()
        ]
        self._by_method: dict[str, list[DialectRoute]] = {}
        for known in self.routes:
            self._by_method.setdefault(known.method, []).append(known)

    def match(self, method: str, path: str) -> tuple[DialectRoute, dict[str, str]] | None:
        routes = self._by_method.get(method)
        if not routes:
            return None
        for route in routes:
            found = route.pattern.fullmatch(path)
            if found:
                return route, found.groupdict()
        if len(path) > 1 and path.endswith("/"):  # the routes of a dialect that tolerates a trailing slash
            stripped = path.rstrip("/")
            for route in routes:
                found = route.pattern.fullmatch(stripped) if route.trailing_slash else None
                if found:
                    return route, found.groupdict()
        return None
