"""CLI start-up: ``wan26 --help`` and ``wan26 validate`` import only what they need; the bench script reports it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("httpx", "rich", "starlette", "uvicorn", "wan26_mock", "wan26core._runtime", "wan26core._client")


def imported_by(*argv: str) -> set[str]:
    code = (
        "import sys; from wan26core.cli import main; status = main(sys.argv[1:]);"
        " print(' '.join(sorted(sys.modules))); sys.exit(status)"
    )
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.splitlines()[-1].split())


@pytest.mark.parametrize(
    "argv",
    [("--help",), ("validate", str(ROOT / "examples" / "requests" / "duet.json"), "-p", "fal/r2v-flash"), ("providers",)],
)
def test_light_commands_import_no_heavy_module(argv: tuple[str, ...]) -> None:
    modules = imported_by(*argv)
    heavy = sorted(m for m in modules if m in HEAVY or m.split(".")[0] in HEAVY)
    assert heavy == [], heavy


def test_import_wan26core_is_lazy_and_complete() -> None:
    code = "import sys, wan26core; assert 'httpx' not in sys.modules; wan26core.Client; assert 'httpx' in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_the_startup_bench_prints_its_figures() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "cli_startup.py"), "--runs", "1"], capture_output=True, text=True, timeout=120
    )
    assert "wan26 --help" in done.stdout and "import json" in done.stdout and "target:" in done.stdout, done.stdout
    assert "heavy modules imported by wan26 --help: none" in done.stdout


def test_every_public_name_is_lazily_importable() -> None:
    import wan26core

    assert set(wan26core._LAZY) == set(wan26core.__all__) - {"__version__"}
    for name in wan26core.__all__:
        assert getattr(wan26core, name) is not None
