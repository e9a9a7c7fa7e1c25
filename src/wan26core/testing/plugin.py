"""The wan26 pytest plugin (``pytest11`` entry point ``wan26``): mocks of every provider for a project's tests.

Fixtures (see ``docs/testing-with-wan26.md``):

- ``wan26_mock_server`` (session): a live mock on a loopback port (``wan26_mock.serve.MockServer``); while a test
  uses it, the environment points wan26's clients and the official clients at it (restored afterwards);
- ``wan26_mock`` (function): a :class:`~wan26core.testing.live.LiveMock` handle on it, reset before each test;
- ``wan26_routes`` (function): the same mock in process as respx routes on the providers' real hosts
  (:class:`~wan26core.testing.routes.MockRoutes`), no sockets;
- ``wan26_mock_config`` (session): the :class:`~wan26core.testing.config.MockConfig` both are built from, from the
  command line and ini options; override it in a ``conftest.py`` to choose the registry, seed or clock;
- marker ``@pytest.mark.wan26(scenario=..., count=..., provider=..., action=..., providers=[...])``.

pytest imports this module in every run where wan26 is installed, with or without the ``[test]`` extra: it
imports only pytest, the stdlib and light wan26core modules; the mock, respx and friends load inside fixtures.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from wan26core.testing.config import INI_OPTIONS, MockConfig, config_from
from wan26core.testing.control import ScenarioSpec, scenario_specs

if TYPE_CHECKING:
    from wan26_mock.serve import MockServer
    from wan26core.testing.live import LiveMock
    from wan26core.testing.routes import MockRoutes

__all__ = ["MockConfig"]

_CALL_FAILED = pytest.StashKey[bool]()
_EXTRA_HINT = "the wan26 pytest fixtures need the [test] extra: pip install 'wan26[test]'"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wan26", "wan26 mock fixtures")
    group.addoption(
        "--wan26-mock-tls",
        action="store_true",
        default=False,
        help="serve wan26_mock_server over HTTPS from a local CA "
        "(the default whenever a client that a dialect lists as https-only is installed)",
    )
    for name, (text, kind, default) in INI_OPTIONS.items():
        parser.addini(name, text, type=kind, default=default)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "wan26(scenario=None, count=1, provider=None, action=None, providers=()): queue a mock scenario "
        "(e.g. 'rate_limited:2') for the next `count` requests of `provider`/`action` before the test runs, "
        "in wan26_mock and wan26_routes; `providers`: the providers the test must reach (wan26_routes routes only those)",
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """Remember a failed test body, so that the routes' strictness does not pile a teardown error onto it."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        item.stash[_CALL_FAILED] = True


# --- fixtures --------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def wan26_mock_config(pytestconfig: pytest.Config) -> MockConfig:
    """How the mocks are made: ini options ``wan26_mock_seed``, ``wan26_mock_profile``, ``wan26_mock_time_scale``,
    ``wan26_mock_tls`` and ``--wan26-mock-tls``. Override this fixture to choose a registry."""
    try:
        return config_from(pytestconfig.getini, bool(pytestconfig.getoption("wan26_mock_tls")))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.fixture(scope="session")
def wan26_mock_server(wan26_mock_config: MockConfig) -> Iterator[MockServer]:
    """A live mock of every served provider on ``127.0.0.1:<free port>`` for the whole session."""
    try:
        from wan26_mock.serve import running_server
    except ImportError as exc:
        pytest.fail(f"{_EXTRA_HINT} ({exc})", pytrace=False)
    config = wan26_mock_config
    with running_server(config.registry, tls=config.tls, **config.engine_options()) as server:
        yield server


@pytest.fixture(autouse=True)
def _wan26_mock_environment(request: pytest.FixtureRequest) -> Iterator[None]:
    """While a test uses ``wan26_mock_server`` (directly or through ``wan26_mock``): its environment, then restored."""
    if "wan26_mock_server" not in request.fixturenames:
        yield
        return
    from wan26core.testing.environment import live_environment

    server: MockServer = request.getfixturevalue("wan26_mock_server")
    home = request.getfixturevalue("tmp_path_factory").mktemp("wan26-home")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in live_environment(server.env(), server.engine.contracts).items():
            patch.setenv(name, value)
        patch.setenv("WAN26_HOME", str(home))
        yield


@pytest.fixture
def wan26_mock(wan26_mock_server: MockServer, request: pytest.FixtureRequest) -> Iterator[LiveMock]:
    """A handle on the live mock, reset before the test, with the test's ``@pytest.mark.wan26`` scenarios queued."""
    from wan26core.testing.live import LiveMock

    specs = _specs(request)
    handle = LiveMock(wan26_mock_server)
    try:
        handle.reset()
        _apply(handle, specs)
        yield handle
        _verify_reached(request, handle.unreached())
    finally:
        handle.close()


@pytest.fixture
def wan26_routes(wan26_mock_config: MockConfig, request: pytest.FixtureRequest) -> Iterator[MockRoutes]:
    """Every provider's real hosts answered in process by a fresh mock engine (respx), with the test's scenarios."""
    try:
        from wan26_mock.engine import Engine
        from wan26core.testing.environment import routes_environment
        from wan26core.testing.routes import MockRoutes
    except ImportError as exc:
        pytest.fail(f"{_EXTRA_HINT} ({exc})", pytrace=False)
    specs = _specs(request)
    engine = Engine(wan26_mock_config.registry, **wan26_mock_config.engine_options())
    try:
        routes = MockRoutes(engine, providers=[p for spec in specs for p in spec.providers])
    except ValueError as exc:
        pytest.fail(f"@pytest.mark.wan26: {exc}", pytrace=False)
    home = request.getfixturevalue("tmp_path_factory").mktemp("wan26-home")
    set_env, remove = routes_environment(engine.contracts)
    with pytest.MonkeyPatch.context() as patch:
        for name in remove:  # clients then use the providers' real hosts, which the routes answer
            patch.delenv(name, raising=False)
        for name, value in set_env.items():
            patch.setenv(name, value)
        patch.setenv("WAN26_HOME", str(home))
        if "wan26_mock_server" in request.fixturenames:  # both in one test: the live mock stays reachable
            routes.pass_through(request.getfixturevalue("wan26_mock_server").base_url)
        routes.start()
        try:
            _apply(routes, specs)
            yield routes
            _verify_reached(request, routes.unreached())
        finally:
            routes.stop()


# --- helpers ---------------------------------------------------------------------------------------
def _specs(request: pytest.FixtureRequest) -> list[ScenarioSpec]:
    try:
        return scenario_specs(request.node.iter_markers("wan26"))
    except TypeError as exc:
        pytest.fail(str(exc), pytrace=False)


def _apply(handle: LiveMock | MockRoutes, specs: list[ScenarioSpec]) -> None:
    try:
        handle.apply(specs)
    except ValueError as exc:
        pytest.fail(f"@pytest.mark.wan26: {exc}", pytrace=False)


def _verify_reached(request: pytest.FixtureRequest, missing: list[str]) -> None:
    if missing and not request.node.stash.get(_CALL_FAILED, False):
        pytest.fail(f"wan26: the test declared provider(s) {missing} but never reached them", pytrace=False)
