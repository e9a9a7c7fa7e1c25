"""The ``wan26_routes`` handle: every provider's real hosts answered in process by the mock engine, as respx routes.

While started, respx intercepts every ``httpx`` client in the process (wan26's clients, fal-client, the AI/ML API
SDK, the user's own code): a request to a provider's host (``https://queue.fal.run``, ``https://api.aimlapi.com``…,
from the contracts) goes to the engine through :class:`~wan26core.testing.bridge.EngineBridge`, sync or async.
Strictness follows respx: a request to any other host is refused with :class:`UnroutedRequestError`, and the
providers a test declares (``@pytest.mark.wan26(providers=[...])``) are the only ones routed and must each be
reached before the test ends (:meth:`MockRoutes.verify`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Iterable, Mapping
from contextvars import ContextVar
from types import TracebackType
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import respx
from respx.models import AllMockedAssertionError
from respx.patterns import M, Pattern

from wan26_mock.encoding import to_wire
from wan26_mock.engine import ADMIN_PREFIX, Engine
from wan26core._contract import Contract
from wan26core.testing.bridge import EngineBridge
from wan26core.testing.control import AdminError, MockControl

__all__ = ["MockRoutes", "UnroutedRequestError", "provider_hosts"]

_IN_ASYNC: ContextVar[bool] = ContextVar("wan26_routes_async", default=False)  # set while an async client asks
_ADMIN_BASE = "http://wan26-routes.invalid"


class UnroutedRequestError(AllMockedAssertionError):
    """A request to a host no route answers (respx's ``assert_all_mocked``), naming the hosts that are routed."""


class _Router(respx.MockRouter):
    """respx's router, telling the routes whether the caller is an async client, with a clearer refusal."""

    def __init__(self, routes: MockRoutes) -> None:
        super().__init__(assert_all_called=False, assert_all_mocked=True)
        self._owner = routes

    def handler(self, request: httpx.Request) -> httpx.Response:
        try:
            return super().handler(request)
        except UnroutedRequestError:
            raise
        except AllMockedAssertionError:
            raise UnroutedRequestError(self._owner.refusal(request)) from None

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        token = _IN_ASYNC.set(True)
        try:
            return await super().async_handler(request)
        except UnroutedRequestError:
            raise
        except AllMockedAssertionError:
            raise UnroutedRequestError(self._owner.refusal(request)) from None
        finally:
            _IN_ASYNC.reset(token)


def provider_hosts(contracts: Iterable[Contract]) -> tuple[str, ...]:
    """``scheme://host[:port]`` of every URL the contracts name: base URL, regions, route hosts, webhook keys."""
    urls: list[str] = []
    for contract in contracts:
        transport = contract.transport
        urls.append(str(transport["base_url"]))
        urls.extend(str(u) for u in transport.get("regions", {}).values())
        urls.extend(str(r["host"]) for r in transport["routes"].values() if r.get("host"))
        if transport.get("webhook", {}).get("jwks_url"):
            urls.append(str(transport["webhook"]["jwks_url"]))
    return tuple(dict.fromkeys(_origin(u) for u in urls))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _pattern(origin: str) -> Pattern:
    parts = urlsplit(origin)
    lookups: dict[str, Any] = {"scheme": parts.scheme, "host": parts.hostname}
    if parts.port is not None:
        lookups["port"] = parts.port
    return M(**lookups)


class MockRoutes(MockControl):
    """Providers answered in process: ``router`` is the respx router; the handle API is :class:`MockControl`'s.

    ``providers``: names (``"fal"``) or provider/model ids (``"fal/r2v-flash"``) the test declares; only their
    hosts are routed and each must be reached (a name: any request to its hosts; an id: a journaled request of
    that endpoint). None declared: every served provider is routed and none is required.
    """

    def __init__(self, engine: Engine, *, providers: Iterable[str] = ()) -> None:
        self.engine = engine
        self.bridge = EngineBridge(engine)
        self.router = _Router(self)
        self.hosts: dict[str, list[str]] = {}
        self._routes: dict[str, list[respx.Route]] = {}
        self.declare(*providers)
        ids = {pid: name for name, by_id in engine.contracts.items() for pid in by_id}
        for name in dict.fromkeys([ids.get(p, p) for p in self.declared] or sorted(engine.contracts)):
            for origin in provider_hosts(engine.contracts[name].values()):
                self.add_host(origin, name)

    def providers(self) -> list[str]:
        return sorted(pid for by_id in self.engine.contracts.values() for pid in by_id)

    def __repr__(self) -> str:
        return f"<MockRoutes {', '.join(self.hosts)}>"

    # --- routing ---------------------------------------------------------------------------------
    def add_host(self, url: str, provider: str) -> respx.Route:
        """Answer ``url``'s host too, for ``provider`` (e.g. a CDN an official client uploads to, which the contract
        does not name): the engine serves every provider's paths on any host."""
        origin = _origin(url)
        route = self.router.route(_pattern(origin), name=f"{provider} {origin}").mock(side_effect=self._answer)
        self.hosts.setdefault(provider, []).append(origin)
        self._routes.setdefault(provider, []).append(route)
        return route

    def pass_through(self, url: str) -> None:
        """Let requests to ``url``'s host go to the network (e.g. a live mock on loopback)."""
        self.router.route(_pattern(_origin(url)), name=f"pass-through {_origin(url)}").pass_through()

    def routes(self, provider: str) -> list[respx.Route]:
        """The respx routes of a provider name (call counts, ``route.calls``)."""
        return list(self._routes[provider])

    def _answer(self, request: httpx.Request) -> httpx.Response | Awaitable[httpx.Response]:
        return self.bridge.ahandle(request) if _IN_ASYNC.get() else self.bridge.handle(request)

    def refusal(self, request: httpx.Request) -> str:
        routed = "; ".join(f"{name}: {', '.join(urls)}" for name, urls in self.hosts.items())
        declared = f" (the test declared providers {list(self.declared)})" if self.declared else ""
        return (
            f"wan26_routes: {request.method} {request.url} is not routed{declared}. Routed hosts: {routed}. "
            "Add a host with wan26_routes.add_host(url, provider), or your own respx route on wan26_routes.router."
        )

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self) -> MockRoutes:
        """Start intercepting httpx (respx patches its transports process-wide)."""
        self.router.start()
        return self

    def stop(self) -> None:
        self.router.stop(quiet=True)
        self.bridge.close()

    def __enter__(self) -> MockRoutes:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if kind is None:
                self.verify()
        finally:
            self.stop()

    def unreached(self) -> list[str]:
        """The declared providers no request reached yet (a name: any request to its hosts)."""
        called = {name for name, routes in self._routes.items() if any(route.called for route in routes)}
        return [p for p in super().unreached() if p not in called]

    def verify(self) -> None:
        """respx's ``assert_all_called``, per declared provider."""
        missing = self.unreached()
        if missing:
            called = sorted({name for name, routes in self._routes.items() if any(r.called for r in routes)})
            raise AssertionError(f"wan26_routes: declared provider(s) {missing} were never called (called: {called or 'none'})")

    # --- admin API, in process -------------------------------------------------------------------
    def admin(self, method: str, path: str, body: Mapping[str, Any] | None = None, query: Mapping[str, str] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else b""
        # the admin API takes only application/json on its POSTs (an empty body is an empty object)
        headers = {"content-type": "application/json"} if body is not None or method.upper() not in ("GET", "HEAD") else {}
        parts = (method, f"{ADMIN_PREFIX}/{path}", dict(query or {}), headers, data, _ADMIN_BASE)
        answer = self.bridge.call(self.engine.handle_parts, *parts)
        wire = to_wire(answer)  # through JSON, so that answers equal the live server's
        payload = json.loads(wire.body) if wire.is_json else wire.body.decode("utf-8", "replace")
        if answer.status >= 400:
            detail = payload.get("detail") if isinstance(payload, dict) else payload
            where = f"{path}?{urlencode(query)}" if query else path
            raise AdminError(f"{method} {where}: HTTP {answer.status}: {detail}")
        return payload
