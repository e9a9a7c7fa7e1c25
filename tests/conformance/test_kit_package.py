"""``wan26core.testing`` stays light: pytest imports it in every run (pytest11), also without Hypothesis or the mock."""

from __future__ import annotations

import subprocess
import sys

import pytest

import wan26core.testing as testing


def test_importing_the_package_imports_neither_hypothesis_nor_the_mock() -> None:
    code = (
        "import sys, wan26core.testing\n"
        "heavy = [m for m in ('hypothesis', 'wan26_mock', 'jsonschema', 'pytest') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("name", testing.__all__)
def test_every_exported_name_resolves_lazily(name: str) -> None:
    assert getattr(testing, name) is not None
    assert name in dir(testing)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        testing.nothing_here  # noqa: B018
