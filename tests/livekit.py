"""A mock engine on a real loopback socket (uvicorn in a thread), for tests that need real connections."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from wan26_mock import create_app
from wan26_mock.engine import Engine


@contextmanager
def live_server(engine: Engine) -> Iterator[str]:
    """Serve ``engine`` on 127.0.0.1 and yield its base URL; stops the server (and its streams) on exit."""
    config = uvicorn.Config(
        create_app(engine=engine), host="127.0.0.1", port=0, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="wan26-live-mock", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the live mock did not start"
        time.sleep(0.01)
    sockets: Any = server.servers[0].sockets
    try:
        yield f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        assert not thread.is_alive(), "the live mock did not stop"


def wait_for(predicate: Any, timeout: float = 10.0, what: str = "the condition") -> None:
    """Poll ``predicate`` (a test helper, not the mock) until it is true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)
