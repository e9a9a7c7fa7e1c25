"""``wan26 mock serve``: run the mock on a socket (HTTPS with ``--tls``) and say how to point each official client at it.

``running_server()`` does the same in a background thread, for tests and for the pytest plugin.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from wan26core import Registry

from .app import create_app
from .engine import ADMIN_PREFIX, Engine
from .jobs import Profile
from .limits import DEFAULT_MAX_JOBS, BadNumber, check_time_scale

if TYPE_CHECKING:
    import uvicorn

__all__ = ["MockServer", "add_arguments", "client_settings", "running_server", "serve"]

_START_TIMEOUT_S = 30.0
_GRACE_S = 0.5  # for answers in flight at shutdown, before open connections are dropped
_SHUTDOWN_GRACE_S = 1  # for answers in flight at SIGTERM/SIGINT (whole seconds: uvicorn's setting is an int)
_MAX_JOBS_LIMIT = 10_000_000


def _time_scale(text: str) -> float:
    try:
        return check_time_scale(text, "--time-scale")
    except BadNumber as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _max_jobs(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= _MAX_JOBS_LIMIT:
        raise argparse.ArgumentTypeError(f"--max-jobs: must be an integer from 1 to {_MAX_JOBS_LIMIT}, got {text[:40]!r}")
    return int(text)


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"--port: must be an integer from 0 (any free port) to 65535, got {text[:40]!r}")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=8000, help="port (default 8000; 0 picks a free one)")
    parser.add_argument("--seed", type=int, default=None, help="make ids, timings and outputs reproducible")
    parser.add_argument(
        "--profile",
        choices=["fast", "realistic"],
        default="fast",
        help="fast: about a second per job; realistic: the contracts' timing profiles",
    )
    parser.add_argument("--time-scale", type=_time_scale, default=1.0, help="run the virtual clock this many times faster")
    parser.add_argument(
        "--max-jobs",
        type=_max_jobs,
        default=DEFAULT_MAX_JOBS,
        help=f"jobs kept; past it the oldest finished jobs are evicted first (default {DEFAULT_MAX_JOBS:,})",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS with a certificate from a local CA; prints the CA file and the settings that trust it",
    )
    parser.add_argument(
        "--ca-dir",
        default=None,
        metavar="DIR",
        help="where the local CA is created once and reused (default: $WAN26_MOCK_CA_DIR, else a per-user temp folder)",
    )


def client_settings(engine: Engine, base_url: str, ca_file: str | Path | None = None) -> dict[str, dict[str, str]]:
    """Per provider: the environment settings that point its official client (and wan26's) at the mock.

    Each variable's form comes from the contract (``transport.base_url_env``: ``{host}`` is ``host:port``,
    ``{base_url}`` is ``scheme://host:port``); with a CA file, the settings that trust it are included.
    """
    out: dict[str, dict[str, str]] = {}
    host = base_url.split("://", 1)[1]
    trust: dict[str, str] = {}
    if ca_file is not None:
        from .tls import trust_settings

        trust = trust_settings(ca_file)
    for provider, contracts in engine.contracts.items():
        contract = next(iter(contracts.values()))
        settings = {}
        for env, form in contract.transport.get("base_url_env", {}).items():
            settings[env] = form.format(host=host, base_url=base_url)
        key_env = contract.transport["auth"]["env"][0]
        settings[key_env] = "mock-key"
        settings[f"WAN26_{provider.upper()}_BASE_URL"] = base_url
        out[provider] = {**settings, **trust}
    return out


@dataclass(frozen=True)
class MockServer:
    """A mock listening on a real socket: where it is, how to reach it, and its engine."""

    base_url: str
    engine: Engine
    ca_file: Path | None = None
    settings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def admin_url(self) -> str:
        return self.base_url + ADMIN_PREFIX

    def env(self, *providers: str) -> dict[str, str]:
        """The settings of ``providers`` (all when none are named) in one mapping, for ``os.environ`` or a subprocess."""
        unknown = sorted(set(providers) - set(self.settings))
        if unknown:
            raise KeyError(f"providers: {unknown} not served; the mock serves {sorted(self.settings)}")
        merged: dict[str, str] = {}
        for name in providers or tuple(self.settings):
            merged.update(self.settings[name])
        return merged


@contextmanager
def running_server(
    registry: Registry | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    tls: bool = False,
    ca_dir: str | Path | None = None,
    seed: int | None = None,
    profile: Profile = "fast",
    time_scale: float = 1.0,
    engine: Engine | None = None,
) -> Iterator[MockServer]:
    """Serve the mock on ``host:port`` (0: a free port) in a background thread until the block ends.

    >>> with running_server(tls=True, seed=1) as mock:  # doctest: +SKIP
    ...     subprocess.run([...], env={**os.environ, **mock.env("fal")})
    """
    import uvicorn

    engine = engine or Engine(registry, seed=seed, profile=profile, time_scale=time_scale)
    config, ca_file = _config(engine, host, tls, ca_dir)
    sock = _bind(host, port)
    engine.own_addresses.add(_own_address(host, sock))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="wan26-mock-server", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the wan26 mock did not start on {host}:{port} (see the log above)")
            time.sleep(0.005)
        base_url = _base_url(host, sock, tls)
        yield MockServer(base_url, engine, ca_file, client_settings(engine, base_url, ca_file))
    finally:
        server.should_exit = True
        thread.join(timeout=_GRACE_S)
        if thread.is_alive():  # a TLS connection its client keeps open waits for the client's close_notify: drop it
            _abort_connections(server)
            thread.join(timeout=_START_TIMEOUT_S)
        sock.close()


def _abort_connections(server: uvicorn.Server) -> None:
    """Drop every open connection, from the server's loop (asyncio waits up to 30 s for a TLS peer's goodbye)."""
    for connection in list(server.server_state.connections):
        transport, loop = getattr(connection, "transport", None), getattr(connection, "loop", None)
        if transport is not None and loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed meanwhile
                loop.call_soon_threadsafe(transport.abort)


def serve(args: argparse.Namespace, registry: Registry | None = None, out: TextIO = sys.stderr) -> int:
    """Run until interrupted, after printing where the mock is and each provider's client settings."""

    engine = Engine(
        registry,
        seed=args.seed,
        profile=args.profile,
        time_scale=args.time_scale,
        max_jobs=getattr(args, "max_jobs", DEFAULT_MAX_JOBS),
    )
    config, ca_file = _config(engine, args.host, args.tls, args.ca_dir)
    config.timeout_graceful_shutdown = _SHUTDOWN_GRACE_S  # then open connections (status streams) are closed
    try:
        sock = _bind(args.host, args.port)
    except OSError as exc:
        out.write(f"wan26 mock: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}\n")
        return 1
    base_url = _base_url(args.host, sock, args.tls)
    engine.own_addresses.add(_own_address(args.host, sock))
    out.write(f"wan26 mock serving {', '.join(sorted(engine.dialects))} on {base_url} (admin: {base_url}{ADMIN_PREFIX}/health)\n")
    if ca_file is not None:
        out.write(f"  CA certificate: {ca_file} (trusted through SSL_CERT_FILE, REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS)\n")
    for provider, settings in client_settings(engine, base_url, ca_file).items():
        out.write(f"  {provider}: " + " ".join(f"{k}={v}" for k, v in settings.items()) + "\n")
    out.flush()
    _stopping_server(config, engine).run(sockets=[sock])
    return 0


def _stopping_server(config: uvicorn.Config, engine: Engine) -> uvicorn.Server:
    """uvicorn's server, which also stops the engine's work in progress at the first SIGINT/SIGTERM (an encode
    stops between two frames), so that shutdown never waits for it."""
    import uvicorn

    class StoppingServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            engine.shutdown()
            super().handle_exit(sig, frame)

    return StoppingServer(config)


def _config(engine: Engine, host: str, tls: bool, ca_dir: str | Path | None) -> tuple[uvicorn.Config, Path | None]:
    """The uvicorn configuration, loaded; with TLS, a fresh leaf certificate from the local CA."""
    import uvicorn

    # uvloop and httptools when importable (``uvicorn[standard]``, in the ``[mock]`` extra), else asyncio and h11
    options: dict[str, Any] = {"log_level": "warning", "lifespan": "off", "loop": "auto", "http": "auto"}
    if not tls:
        config = uvicorn.Config(create_app(engine=engine), **options)
        config.load()
        return config, None
    from .tls import LocalCA

    ca = LocalCA(ca_dir)
    pem = ca.server_pem(host)
    try:
        config = uvicorn.Config(create_app(engine=engine), ssl_certfile=str(pem), **options)
        config.load()  # reads the key now, so the file can go
    finally:
        pem.unlink(missing_ok=True)
    return config, ca.ca_file


def _bind(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def _own_address(host: str, sock: socket.socket) -> tuple[str, int]:
    """(host, port) the mock listens on, for the webhook check (a wildcard host stands for every local address)."""
    return host, int(sock.getsockname()[1])


def _base_url(host: str, sock: socket.socket, tls: bool) -> str:
    port = sock.getsockname()[1]
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # a wildcard is reached on loopback
    if ":" in shown:
        shown = f"[{shown}]"
    return f"{'https' if tls else 'http'}://{shown}:{port}"
