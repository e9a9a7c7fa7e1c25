"""Fixtures the client and CLI tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

KEYS = ("FAL_KEY", "VTRIX_API_KEY", "DASHSCOPE_API_KEY", "AIML_API_KEY", "AIMLAPI_API_KEY", "WAN26_DEBUG")


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No provider key in the environment, a WAN26_HOME of the test's own, run from the test's own folder."""
    for name in KEYS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WAN26_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "home"
