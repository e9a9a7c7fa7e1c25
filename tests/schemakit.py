"""A bounded, derandomized Schemathesis run over the operations of a schema, collecting failure codes per operation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation.modes import GenerationMode


def failure_codes(
    schema: Any,
    mode: GenerationMode,
    checks: Sequence[Any],
    max_examples: int,
    skip: Callable[[Any], bool] = lambda operation: False,
) -> dict[str, set[str]]:
    """Failure codes (``ST201``, ``ST1xx`` …) per operation label, only for operations that failed."""
    failures: dict[str, set[str]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if skip(operation):
            continue
        found = failures.setdefault(operation.label, set())

        @settings(
            max_examples=max_examples,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def probe(case: Any) -> None:
            try:
                case.call_and_validate(checks=list(checks))
            except FailureGroup as group:
                found.update(f.code for f in group.exceptions)  # noqa: B023 - probe runs inside this iteration
            except Failure as failure:
                found.add(failure.code)  # noqa: B023

        probe()
    return {label: codes for label, codes in failures.items() if codes}
