"""The ``wan26`` marker, the configuration options and the journal field paths, without a mock."""

from __future__ import annotations

from typing import Any

import pytest

from wan26core.testing.config import MockConfig, config_from
from wan26core.testing.control import ScenarioSpec, field_value, scenario_specs


def marks(*decorators: Any) -> list[pytest.Mark]:
    """The marks of stacked decorators, closest first (as ``node.iter_markers`` gives them)."""
    return [d.mark for d in reversed(decorators)]


def test_the_marker_is_registered(pytestconfig: pytest.Config) -> None:
    assert any(line.startswith("wan26(scenario=None, count=1") for line in pytestconfig.getini("markers"))


def test_marks_become_specs_outermost_first() -> None:
    specs = scenario_specs(
        marks(
            pytest.mark.wan26("stuck"),
            pytest.mark.wan26(scenario="rate_limited:2", count=3, provider="vtrix/r2v", action="submit", providers="vtrix"),
        )
    )
    assert specs == [
        ScenarioSpec("stuck"),
        ScenarioSpec("rate_limited:2", 3, "vtrix/r2v", "submit", ("vtrix",)),
    ]
    assert scenario_specs(marks(pytest.mark.wan26(providers=["fal", "dashscope/r2v"]))) == [
        ScenarioSpec(providers=("fal", "dashscope/r2v"))
    ]


@pytest.mark.parametrize(
    ("mark", "message"),
    [
        (pytest.mark.wan26("a", "b"), "at most one positional argument"),
        (pytest.mark.wan26("a", scenario="b"), "at most one positional argument"),
        (pytest.mark.wan26(scenaro="stuck"), r"unknown argument\(s\) \['scenaro'\]"),
        (pytest.mark.wan26(count=2), "provider=, action= and count= need a scenario="),
    ],
)
def test_bad_marks_say_what_is_wrong(mark: pytest.MarkDecorator, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        scenario_specs([mark.mark])


@pytest.mark.wan26("unauthorized", provider="vtrix/r2v")
class TestMarksOnAClass:
    @pytest.mark.wan26("stuck", count=2, action="submit")
    def test_class_and_function_marks_both_apply(self, wan26_routes: Any) -> None:
        pending = wan26_routes.pending_scenarios()
        assert [(p["scenario"], p["remaining"], p["provider"], p["action"]) for p in pending] == [
            ("unauthorized", 1, "vtrix/r2v", None),
            ("stuck", 2, None, "submit"),
        ]


def test_field_paths() -> None:
    body = {"input": {"prompt": "hi", "reference_urls": ["a", "b"]}, "duration": 5}
    assert field_value(body, "duration") == 5
    assert field_value(body, "input.prompt") == field_value(body, "input__prompt") == "hi"
    assert field_value(body, "input.reference_urls.1") == "b"
    missing = field_value(body, "input.reference_urls.2")
    assert missing is field_value(body, "nope") and missing is not None


def test_the_configuration_comes_from_ini_options() -> None:
    ini = {"wan26_mock_seed": "7", "wan26_mock_profile": "realistic", "wan26_mock_time_scale": "2.5", "wan26_mock_tls": False}
    assert config_from(ini.__getitem__, False) == MockConfig(seed=7, profile="realistic", time_scale=2.5, tls=False)
    assert config_from({**ini, "wan26_mock_seed": "", "wan26_mock_time_scale": ""}.__getitem__, True) == MockConfig(
        profile="realistic", tls=True
    )
    assert MockConfig(seed=1).engine_options() == {"seed": 1, "profile": "fast", "time_scale": 1.0}
    for name, value, message in [
        ("wan26_mock_seed", "x", "wan26_mock_seed: 'x' is not an integer"),
        ("wan26_mock_time_scale", "fast", "wan26_mock_time_scale: 'fast' is not a number"),
        ("wan26_mock_time_scale", "0", "time_scale: must be a positive number"),
        ("wan26_mock_profile", "slow", "wan26_mock_profile: 'slow' is not one of"),
    ]:
        with pytest.raises(ValueError, match=message):
            config_from({**ini, name: value}.__getitem__, False)
