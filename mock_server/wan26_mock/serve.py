"""``wan26 mock serve``: run the mock on a socket and say how to point each official client at it."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from wan26core import Registry

from .app import create_app
from .engine import Engine

__all__ = ["add_arguments", "client_settings", "serve"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    parser.add_argument("--seed", type=int, default=None, help="make ids, timings and outputs reproducible")
    parser.add_argument(
        "--profile",
        choices=["fast", "realistic"],
        default="fast",
        help="fast: about a second per job; realistic: the contracts' timing profiles",
    )
    parser.add_argument("--time-scale", type=float, default=1.0, help="run the virtual clock this many times faster")


def client_settings(engine: Engine, base_url: str) -> dict[str, dict[str, str]]:
    """Per provider: the environment settings that point its official client (and wan26's) at the mock."""
    out: dict[str, dict[str, str]] = {}
    host = base_url.split("://", 1)[1]
    for provider, contracts in engine.contracts.items():
        contract = next(iter(contracts.values()))
        settings = {}
        for env, form in contract.transport.get("base_url_env", {}).items():
            settings[env] = form.format(host=host, base_url=base_url)
        key_env = contract.transport["auth"]["env"][0]
        settings[key_env] = "mock-key"
        settings[f"WAN26_{provider.upper()}_BASE_URL"] = base_url
        out[provider] = settings
    return out


def serve(args: argparse.Namespace, registry: Registry | None = None, out: TextIO = sys.stderr) -> int:
    import uvicorn

    engine = Engine(registry, seed=args.seed, profile=args.profile, time_scale=args.time_scale)
    app = create_app(engine=engine)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)

    original_startup = server.startup

    async def startup(sockets: object = None) -> None:
        await original_startup(sockets=sockets)  # type: ignore[arg-type]
        port = server.servers[0].sockets[0].getsockname()[1] if server.servers else args.port
        base_url = f"http://{args.host}:{port}"
        out.write(f"wan26 mock serving {', '.join(sorted(engine.dialects))} on {base_url} (admin: {base_url}/__wan26__/health)\n")
        for provider, settings in client_settings(engine, base_url).items():
            out.write(f"  {provider}: " + " ".join(f"{k}={v}" for k, v in settings.items()) + "\n")
        out.flush()

    server.startup = startup  # type: ignore[method-assign]
    server.run()
    return 0
