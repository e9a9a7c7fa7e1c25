"""The public API is re-exported from one place and ``__all__`` is complete (the httpx convention)."""

from __future__ import annotations

import inspect

import wan26core


def test_all_names_exist() -> None:
    for name in wan26core.__all__:
        assert hasattr(wan26core, name), name


def test_all_is_complete() -> None:
    public = {
        name
        for name, value in vars(wan26core).items()
        if not name.startswith("_") and (inspect.isclass(value) or inspect.isfunction(value))
    }
    assert public <= set(wan26core.__all__)


def test_errors_form_one_hierarchy() -> None:
    exported = [getattr(wan26core, n) for n in wan26core.__all__]
    errors = [e for e in exported if isinstance(e, type) and issubclass(e, BaseException)]
    assert len(errors) >= 12 and all(issubclass(e, wan26core.Wan26Error) for e in errors)
