"""`wan26 mock serve` on a real loopback socket: it starts, says how to point each client at it, and answers."""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


@pytest.fixture
def served() -> Iterator[tuple[str, str]]:
    script = Path(sysconfig.get_path("scripts")) / "wan26"
    process = subprocess.Popen(
        [str(script), "mock", "serve", "--port", "0", "--seed", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    banner: list[str] = []
    try:
        deadline = time.monotonic() + 30
        assert process.stderr is not None
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            banner.append(line)
            if line.startswith("  ") and len([b for b in banner if b.startswith("  ")]) >= 4:
                break
        text = "".join(banner)
        found = re.search(r"on (http://127\.0\.0\.1:\d+)", text)
        assert found, f"no address in the banner: {text!r} (exit {process.poll()})"
        yield found.group(1), text
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()
        if process.stdout is not None:
            process.stdout.close()


def test_serve_prints_each_providers_settings_and_answers_on_loopback(served: tuple[str, str]) -> None:
    base_url, banner = served
    for setting in (
        "FAL_KEY=",
        "FAL_QUEUE_RUN_HOST=127.0.0.1:",
        "DASHSCOPE_HTTP_BASE_URL=http://127.0.0.1:",
        "DASHSCOPE_API_KEY=",
        "AIML_API_BASE=",
        "VTRIX_API_KEY=",
    ):
        assert setting in banner
    health = httpx.get(f"{base_url}/__wan26__/health", timeout=10).json()
    assert {"fal/r2v-flash", "vtrix/r2v", "dashscope/i2v", "aimlapi/r2v"} <= set(health["providers"])


def test_python_dash_m_runs_the_same_server() -> None:
    done = subprocess.run([sys.executable, "-m", "wan26_mock", "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and "--time-scale" in done.stdout
