"""Run one benchmark server: the real ``wan26 mock serve`` app, or a bare Starlette endpoint under the same uvicorn setup.

Both go through ``wan26_mock.serve.serve`` (the function behind ``wan26 mock serve``), so they share one uvicorn
configuration by construction; ``--bare BODY.json`` only swaps the app that ``serve`` is handed for a single Starlette
route returning ``BODY.json`` as a constant ``JSONResponse``. ``--pure`` hides uvloop and httptools so uvicorn's
``auto`` picks the asyncio loop and h11 (what a plain ``pip install 'wan26[mock]'`` gets).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def bare_app(body: Any) -> Any:
    """One catch-all route, like the mock's, answering a constant JSON body."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def endpoint(request: Request) -> Response:
        return JSONResponse(body)

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])])


def _implementation() -> str:
    names = []
    for module, fast, slow in (("uvloop", "uvloop", "asyncio"), ("httptools", "httptools", "h11")):
        try:
            __import__(module)
            names.append(fast)
        except ImportError:
            names.append(slow)
    return "+".join(names)


def main(argv: list[str] | None = None) -> int:
    from wan26_mock import serve as serve_module

    parser = argparse.ArgumentParser(prog="bench/_server.py", description=__doc__)
    serve_module.add_arguments(parser)
    parser.add_argument("--bare", type=Path, help="serve this JSON file from a bare Starlette endpoint instead of the mock")
    parser.add_argument("--pure", action="store_true", help="hide uvloop/httptools: asyncio loop and h11")
    args = parser.parse_args(argv)
    if args.pure:
        sys.modules["uvloop"] = None  # type: ignore[assignment]
        sys.modules["httptools"] = None  # type: ignore[assignment]
    sys.stderr.write(f"bench-server impl={_implementation()} app={'bare' if args.bare else 'mock'}\n")
    if args.bare is not None:
        app = bare_app(json.loads(args.bare.read_text()))
        setattr(serve_module, "create_app", lambda **_: app)  # noqa: B010 (serve() looks it up at call time)
    return serve_module.serve(args)


if __name__ == "__main__":
    sys.exit(main())
