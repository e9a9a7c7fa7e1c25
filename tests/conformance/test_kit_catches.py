"""The kit fails broken plugins, and says what is wrong in a plugin author's terms."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import wan26_vtrix
from wan26_vtrix import VtrixClientProtocol
from wan26_vtrix.dialect import VtrixDialect
from wan26core import (
    Contract,
    ContractProvider,
    GenerationRequest,
    NativeError,
    PluginError,
    Provider,
    Reference,
    Registry,
    hookimpl,
)
from wan26core._dialect import MockRequest, MockResponse
from wan26core._errors import Violation
from wan26core._rules.render import WireRequest
from wan26core.testing import ConformanceError, ConformanceTarget, ProviderConformance, minimal_request
from wan26core.testing import kit_checks as checks
from wan26core.testing import kit_lifecycle as lifecycle

VTRIX = Registry(plugins=[wan26_vtrix], entry_points=False).get("vtrix/r2v")
TWO_IMAGES = GenerationRequest(
    "@alice meets @bob",
    (Reference("alice", "https://m.example/alice.png", "image"), Reference("bob", "https://m.example/bob.png", "image")),
)


def vtrix(
    mutate: Callable[[dict[str, Any]], None] | None = None, protocol: type[VtrixClientProtocol] = VtrixClientProtocol
) -> Provider:
    """vtrix/r2v with a changed contract and/or client protocol (its dialect as shipped)."""
    data = copy.deepcopy(VTRIX.contract.data)
    if mutate is not None:
        mutate(data)
    contract = Contract(data, origin="mutated/vtrix.json")
    return ContractProvider(contract, dialect=wan26_vtrix.DIALECT, protocol=protocol(contract))


class Plugin:
    """A plugin registering exactly the given providers."""

    def __init__(self, *providers: Provider) -> None:
        self.providers = providers

    @hookimpl
    def wan26_register_providers(self, register: Callable[[Provider], None]) -> None:
        for provider in self.providers:
            register(provider)


def test_the_shipped_vtrix_plugin_passes_every_offline_check() -> None:
    checks.check_contract(VTRIX)
    checks.check_plugin_surface(VTRIX)
    assert checks.check_request_examples(VTRIX) >= 1
    checks.check_render(VTRIX, TWO_IMAGES)
    checks.check_ordering(VTRIX, TWO_IMAGES)
    checks.check_binding(VTRIX, TWO_IMAGES)


def test_a_contract_that_breaks_the_schema_is_named_with_the_field() -> None:
    broken = vtrix(lambda d: d["limits"]["prompt"].pop("max_length"))
    with pytest.raises(
        ConformanceError, match=r"mutated/vtrix.json does not satisfy contracts/schema:\n  - limits/prompt.*max_length"
    ):
        checks.check_contract(broken)


def test_a_status_example_outside_the_vocabulary_names_the_example() -> None:
    broken = vtrix(lambda d: d["statuses"]["map"].pop("in_progress"))
    with pytest.raises(ConformanceError, match=r"example 'status in progress \(shape\)': status 'in_progress'.*statuses.map"):
        checks.check_contract(broken)


def test_a_wire_value_the_request_schema_refuses_names_the_path() -> None:
    broken = vtrix(lambda d: d["options"]["duration"].update(wire_values={"5": "5", "10": "10"}))
    with pytest.raises(ConformanceError, match=r"breaks request.schema at parameters.duration"):
        checks.check_render(broken, TWO_IMAGES.replace(duration=5))


def test_a_misread_status_names_the_example_and_the_states() -> None:
    broken = vtrix(lambda d: d["statuses"]["map"].update(completed="running"))
    example = next(e for e in broken.contract.examples("result_response"))
    with pytest.raises(ConformanceError, match=r"example 'status completed \(shape\)'.*gave state 'running'.*says 'succeeded'"):
        checks.check_response_example(broken, example)


class _WrongCode(VtrixClientProtocol):
    def native_error_of(self, body: Any, http_status: int | None) -> NativeError | None:
        return NativeError(http_status, "wrong", "misread")


def test_an_error_body_read_with_the_wrong_code_names_the_catalogue_entry() -> None:
    broken = vtrix(protocol=_WrongCode)
    index = next(i for i, e in enumerate(broken.contract.data["errors"]) if e["code"] == "001028003")
    with pytest.raises(ConformanceError, match=r"errors\[2\] \(code '001028003'.*reads back as ProviderError with code 'wrong'"):
        checks.check_error_entry(broken, index)


class _Reversed(ContractProvider):
    """Sends the references in reverse order (and so breaks what the prompt's tokens name)."""

    def render(self, request: GenerationRequest, *, probe: bool = False) -> WireRequest:
        wire = super().render(request, probe=probe)
        wire.body["input"]["reference_urls"].reverse()
        return wire


def test_references_sent_out_of_order_break_the_ordering_rule_and_the_binding() -> None:
    broken = _Reversed(VTRIX.contract, dialect=wan26_vtrix.DIALECT, protocol=VtrixClientProtocol(VTRIX.contract))
    with pytest.raises(ConformanceError, match=r"references.ordering is 'as_given', so the mixed references should be sent as"):
        checks.check_ordering(broken, TWO_IMAGES)
    with pytest.raises(ConformanceError, match=r"names \['https://m.example/bob.png', 'https://m.example/alice.png'\]"):
        checks.check_binding(broken, TWO_IMAGES)


class _LosesTheCode(VtrixClientProtocol):
    def native_error_of(self, body: Any, http_status: int | None) -> NativeError | None:
        found = super().native_error_of(body, http_status)
        return NativeError(found.http_status, "001028096", found.message) if found is not None else None


def test_a_failure_code_lost_between_dialect_and_client_fails_the_lifecycle(tmp_path: Path) -> None:
    registry = Registry([Plugin(vtrix(protocol=_LosesTheCode))], entry_points=False)
    with pytest.raises(ConformanceError, match=r"catalogued code '001028095'.*the client reports code '001028096'"):
        lifecycle.check_failure(registry, "vtrix/r2v", "001028095", tmp_path)


class _AcceptsAnything(VtrixDialect):
    def invalid(self, request: MockRequest, contract: Contract, violations: list[Violation]) -> MockResponse:
        return MockResponse(200, {"id": "task-x", "status": "in_progress", "model": "wan26_r2v", "created_at": 0})


def test_a_dialect_that_accepts_refused_bodies_fails_the_lifecycle(tmp_path: Path) -> None:
    lenient = ContractProvider(VTRIX.contract, dialect=_AcceptsAnything(), protocol=VtrixClientProtocol(VTRIX.contract))
    registry = Registry([Plugin(lenient)], entry_points=False)
    with pytest.raises(ConformanceError, match=r"the mock accepted a body the contract says is refused \(\['001028001'"):
        lifecycle.check_refusal(registry, "vtrix/r2v", tmp_path)


def test_the_refused_body_breaks_a_rule_with_a_native_code() -> None:
    good = VTRIX.render(minimal_request(VTRIX.contract)).body
    found = lifecycle.refused_body(VTRIX.contract, good)
    assert found is not None
    body, violations = found
    assert len(body["input"]["reference_urls"]) > 5 and {v.rule for v in violations} >= {"references.total.max"}


def test_a_plugin_that_is_not_installed_says_how_to_declare_it() -> None:
    with pytest.raises(
        PluginError, match=r"no installed distribution declares a 'wan26' entry point named 'nosuch'.*entry-points"
    ):
        ConformanceTarget.load("nosuch")
    with pytest.raises(PluginError, match="set `provider = '<name>'`"):
        ConformanceTarget.load("")
    with pytest.raises(PluginError, match=r"registers no endpoint of provider 'fal'.*it registers: vtrix/r2v"):
        ConformanceTarget.load("fal", wan26_vtrix)


def test_a_subclass_checks_only_the_models_it_names() -> None:
    class OnlyFlash(ProviderConformance):
        provider = "fal"
        models = ("r2v-flash",)

    assert OnlyFlash.conformance_target().endpoint_ids == ["fal/r2v-flash"]
    with pytest.raises(PluginError, match=r"models \['fal/r3v'\] are not registered"):
        ConformanceTarget.load("fal", models=("r3v",))
