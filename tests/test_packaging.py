"""The installed distribution: namespaced import names, no generic top-level packages, typed."""

from __future__ import annotations

import importlib
import importlib.util
from importlib import metadata, resources
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"


@pytest.mark.parametrize("generic", ["providers", "mock_server", "contracts", "fal", "vtrix", "dashscope"])
def test_no_generic_top_level_names_are_installed(generic: str) -> None:
    # our wheel's own files (the official clients installed for tests/compat do own `fal_client`, `dashscope` …)
    top = {f.parts[0] for f in metadata.distribution("wan26").files or []}
    assert generic not in top and f"{generic}.py" not in top
    if generic in ("providers", "mock_server", "contracts"):
        assert importlib.util.find_spec(generic) is None


@pytest.mark.parametrize("name", ["wan26core", "wan26_fal", "wan26_aimlapi", "wan26_vtrix", "wan26_dashscope"])
def test_packages_come_from_the_installed_wheel_and_are_typed(name: str) -> None:
    module = importlib.import_module(name)
    path = Path(str(module.__file__)).resolve()
    assert SRC not in path.parents, "tests must run against the installed wheel, not the source tree"
    assert resources.files(name).joinpath("py.typed").is_file()


def test_the_distribution_is_one_wheel_named_wan26() -> None:
    dist = metadata.distribution("wan26")
    top = {f.parts[0] for f in dist.files or [] if f.suffix in (".py", ".json") and len(f.parts) > 1}
    assert {"wan26core", "wan26_fal", "wan26_aimlapi", "wan26_vtrix", "wan26_dashscope", "wan26_contracts"} <= top
    assert not top & {"providers", "mock_server", "contracts", "src"}
