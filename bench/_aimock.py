"""aimock (``@copilotkit/aimock`` from npm) as a baseline fal mock: installed on demand into a cache folder, run with node.

What it takes, read from the package itself (1.43.0: README.md, ``dist/cli.js --help``, ``dist/fal.js``,
``dist/server.js``): the ``llmock`` CLI (``dist/cli.js``) serves ``-f`` fixture files on ``-p``/``-h``; its
general fal handler answers only requests that carry ``x-fal-target-host`` (``queue.fal.run`` for the queue),
under a ``/fal`` path prefix; a queue submit needs a fixture whose ``match.userMessage`` is in the prompt and whose
``response.json`` is the result; ``GET …/requests/{id}/status`` answers the job's status with its ``logs``.
With its default progression a job is ``COMPLETED`` from the start (every poll answers 200).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from _common import FAL, Server

__all__ = ["AIMOCK_VERSION", "HEADERS", "PACKAGE", "STATUS_PATH", "ensure_installed", "start_aimock", "submit_jobs"]

PACKAGE = "@copilotkit/aimock"
AIMOCK_VERSION = "1.43.0"  # pinned: figures compare like with like across runs
HEADERS = {**FAL.headers, "x-fal-target-host": "queue.fal.run"}
SUBMIT_PATH = "/fal" + FAL.submit_path
STATUS_PATH = "/fal" + FAL.status_path  # /fal/wan/v2.6/requests/{id}/status?logs=1
_FIXTURE = (
    '{"fixtures": [{"match": {"userMessage": "dances"}, "response": {"json": {"video": {'
    '"url": "https://v3.fal.media/files/mock/output.mp4", "content_type": "video/mp4", "file_name": "output.mp4",'
    ' "file_size": 83220}, "seed": 1}}}]}'
)


def default_dir(version: str = AIMOCK_VERSION) -> Path:
    return Path(tempfile.gettempdir()) / f"wan26-bench-aimock-{version}"


def ensure_installed(directory: Path, version: str = AIMOCK_VERSION, *, install: bool = True) -> tuple[Path | None, str]:
    """(aimock's CLI script, "") once ``PACKAGE@version`` is installed in ``directory``; else (None, why not)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return None, "node/npm not on PATH"
    cli = directory / "node_modules" / "@copilotkit" / "aimock" / "dist" / "cli.js"
    if cli.is_file():
        return cli, ""
    if not install:
        return None, f"not installed in {directory} (--no-install)"
    directory.mkdir(parents=True, exist_ok=True)
    command = [npm, "install", "--prefix", str(directory), "--no-audit", "--no-fund", f"{PACKAGE}@{version}"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return None, "npm install timed out"
    if done.returncode != 0 or not cli.is_file():
        return None, f"npm install {PACKAGE}@{version} failed: {(done.stderr or done.stdout).strip()[-300:]}"
    return cli, ""


def start_aimock(cli: Path, version: str = AIMOCK_VERSION, timeout: float = 30.0) -> Server:
    """aimock on a free loopback port, with a fixture that answers the fal submit; ready when /health answers."""
    fd, name = tempfile.mkstemp(prefix="wan26-bench-aimock-", suffix=".log")
    log = Path(name)
    fixture = log.with_suffix(".json")
    fixture.write_text(_FIXTURE)
    with socket.socket() as probe:  # a free port (aimock takes no 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with open(fd, "wb") as sink:
        process = subprocess.Popen(
            ["node", str(cli), "-p", str(port), "-h", "127.0.0.1", "-f", str(fixture), "--log-level", "warn"],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(base_url + "/health", timeout=1).status_code == 200:
                    return Server(process, base_url, f"node {_node_version()}, aimock {version}", log)
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"aimock did not start:\n{log.read_text(errors='replace')}")
    except BaseException:
        process.kill()
        process.wait()
        log.unlink(missing_ok=True)
        raise
    finally:
        fixture.unlink(missing_ok=True)  # read at start


def submit_jobs(server: Server, count: int) -> list[str]:
    """``count`` fal jobs submitted to aimock; their request ids."""
    ids = []
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        for _ in range(count):
            answer = client.post(SUBMIT_PATH, json=FAL.body, headers=HEADERS)
            if answer.status_code != 200:
                raise RuntimeError(f"aimock refused the fal submit: {answer.status_code} {answer.text[:300]}")
            ids.append(str(answer.json()["request_id"]))
        status = client.get(STATUS_PATH.format(id=ids[0]), headers=HEADERS)
        if status.status_code != 200 or "status" not in status.json():
            raise RuntimeError(f"aimock's status route answered {status.status_code}: {status.text[:300]}")
    return ids


def _node_version() -> str:
    done = subprocess.run(["node", "--version"], capture_output=True, text=True)
    return done.stdout.strip() or "?"
