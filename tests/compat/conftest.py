"""The official clients against `wan26 mock serve --tls` on a real loopback socket.

Each client runs in a fresh interpreter whose environment holds only the settings the mock prints (plus PATH),
because fal-client and dashscope read their hosts at import time. A client script prints one JSON line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from compatkit import RunClient

from support import builtin_registry
from wan26_mock.serve import MockServer, running_server

CLIENTS = Path(__file__).parent / "clients"


@pytest.fixture(scope="session")
def tls_mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    """One HTTPS mock for the whole session, its CA in a fresh folder, on the fast profile (about a second a job)."""
    with running_server(builtin_registry(), tls=True, seed=11, ca_dir=tmp_path_factory.mktemp("ca")) as server:
        yield server


@pytest.fixture(scope="session")
def run_client(tls_mock: MockServer) -> RunClient:
    """``run_client("fal_flow.py", "fal")``: run a client script with that provider's settings; the JSON it printed."""

    def run(
        script: str, *providers: str, args: Sequence[str] = (), extra_env: dict[str, str] | None = None, timeout: float = 60
    ) -> dict[str, Any]:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONDONTWRITEBYTECODE": "1",
            **tls_mock.env(*providers),
            **(extra_env or {}),
        }
        if "SYSTEMROOT" in os.environ:  # Windows needs it to start Python at all
            env["SYSTEMROOT"] = os.environ["SYSTEMROOT"]
        done = subprocess.run(
            [sys.executable, str(CLIENTS / script), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        assert done.returncode == 0, f"{script} failed (exit {done.returncode}):\n{done.stderr[-4000:]}"
        lines = done.stdout.strip().splitlines()
        assert lines, f"{script} printed nothing; stderr:\n{done.stderr[-4000:]}"
        result: dict[str, Any] = json.loads(lines[-1])
        return result

    return run
