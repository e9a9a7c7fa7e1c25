"""What the CLI tests share: a request on the embedded mock and ``main`` run in process (the ``home`` fixture that
keeps them apart is in this folder's conftest)."""

from __future__ import annotations

import pytest

from wan26core.cli import main

URL = "https://example.com/cat.mp4"
GENERATE = ["generate", "-p", "fal/r2v-flash", "--ref", f"cat={URL}", "@cat waves"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``wan26 ARGV`` in process: its exit status, stdout and stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
