"""A real PostgreSQL server for the journal tests, never a skip.

``$WAN26_TEST_POSTGRES_URL`` names it when set (``.ci/run`` starts one with ``.ci/postgres.sh`` and exports it);
otherwise the session starts its own from the installed server binaries (the same script) and stops it at the end.
Without a server the tests fail and say why. Each session works in a database of its own, each test (or module)
in a schema of its own, dropped afterwards: tests never see each other's jobs.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

__all__ = ["database", "schema", "server"]

SCRIPT = Path(__file__).resolve().parent.parent / ".ci" / "postgres.sh"


@contextlib.contextmanager
def server() -> Iterator[str]:
    """The URL of a running server: ``$WAN26_TEST_POSTGRES_URL``, else one started (and stopped) here."""
    url = os.environ.get("WAN26_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    # as root (a fresh CI-like machine) the script may install Debian's postgresql package itself, as .ci/run does
    install = ["--install"] if os.geteuid() == 0 else []
    started = subprocess.run(["bash", str(SCRIPT), "start", *install], capture_output=True, text=True, timeout=600)
    if started.returncode != 0:
        pytest.fail(
            "the PostgreSQL journal tests need a server: set WAN26_TEST_POSTGRES_URL, or install the postgresql package"
            f" (then they start their own); {SCRIPT.name} said: {started.stderr.strip()[-3000:]}",
            pytrace=False,
        )
    env = dict(line.removeprefix("export ").split("=", 1) for line in started.stdout.splitlines() if "=" in line)
    try:
        yield env["WAN26_TEST_POSTGRES_URL"]
    finally:
        subprocess.run(
            ["bash", str(SCRIPT), "stop", env["WAN26_TEST_POSTGRES_DIR"]],
            env={**os.environ, "WAN26_TEST_POSTGRES_BIN": env["WAN26_TEST_POSTGRES_BIN"]},
            timeout=120,
            check=False,
        )


def _admin(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


@contextlib.contextmanager
def database(server_url: str) -> Iterator[str]:
    """A fresh database on the server for one test session; dropped at the end."""
    name = f"wan26_test_{uuid.uuid4().hex[:12]}"
    _admin(server_url, f"CREATE DATABASE {name}")
    base = server_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        _admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def schema(database_url: str) -> Iterator[str]:
    """A fresh schema in the database, as a URL whose connections use it (``search_path``); dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    _admin(database_url, f"CREATE SCHEMA {name}")
    separator = "&" if "?" in database_url else "?"
    try:
        yield f"{database_url}{separator}options={quote(f'-csearch_path={name}')}"
    finally:
        _admin(database_url, f"DROP SCHEMA IF EXISTS {name} CASCADE")
