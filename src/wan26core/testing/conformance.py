"""``ProviderConformance``: the pytest base class a provider plugin subclasses to prove it follows the contract.

>>> class TestWaveSpeed(ProviderConformance):  # doctest: +SKIP
...     provider = "wavespeed"          # the entry point name in [project.entry-points.wan26]
...     # plugin = wan26_wavespeed      # or the plugin object itself
...     # models = ("r2v",)             # or a subset of the endpoints it registers

Every test is parametrized per endpoint (``wavespeed/r2v``), per response example and per error-catalogue
entry, so a failure names what is wrong. Property tests use Hypothesis with the loaded settings profile
(``hypothesis_max_examples`` overrides its ``max_examples``). The lifecycle tests need the ``[test]`` extra
(the mock server).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings

from wan26core.testing import kit_checks as checks
from wan26core.testing import kit_lifecycle as lifecycle
from wan26core.testing.kit_strategies import valid_requests
from wan26core.testing.kit_target import ConformanceTarget

__all__ = ["ProviderConformance"]

RESPONSE_KINDS = ("submit_response", "status_response", "result_response", "error_response")
_TARGETS: dict[type, ConformanceTarget] = {}


class ProviderConformance:
    """Subclass as ``Test<Name>`` and set ``provider``; pytest collects the subclass, never this base."""

    #: the provider part of the endpoint ids (``fal`` for ``fal/r2v-flash``), and by default the entry point name
    provider: ClassVar[str] = ""
    #: the plugin object (module or instance with ``@hookimpl``); None loads the ``wan26`` entry point ``provider``
    plugin: ClassVar[Any] = None
    #: the models to check (``("r2v",)``); None checks every endpoint of ``provider`` the plugin registers
    models: ClassVar[tuple[str, ...] | None] = None
    #: Hypothesis examples per property; None keeps the loaded settings profile's ``max_examples``
    hypothesis_max_examples: ClassVar[int | None] = None

    # --- collection -------------------------------------------------------------------------------
    @classmethod
    def conformance_target(cls) -> ConformanceTarget:
        """The plugin under test, loaded once per class."""
        if cls not in _TARGETS:
            _TARGETS[cls] = ConformanceTarget.load(cls.provider, cls.plugin, cls.models)
        return _TARGETS[cls]

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        target = self.conformance_target()
        ids = target.endpoint_ids
        names = metafunc.fixturenames
        if "endpoint_id" in names:
            metafunc.parametrize("endpoint_id", ids)
        if "response_example" in names:
            cases = [(pid, kind, i) for pid in ids for kind in RESPONSE_KINDS for i in _indexes(target, pid, kind)]
            metafunc.parametrize("response_example", cases, ids=[_example_id(target, *case) for case in cases])
        if "error_entry" in names:
            entries = [(pid, i) for pid in ids for i in range(len(target.contract(pid).data["errors"]))]
            labels = [f"{pid}:errors[{i}]={target.contract(pid).data['errors'][i]['code']}" for pid, i in entries]
            metafunc.parametrize("error_entry", entries, ids=labels)
        if "failure" in names:
            codes = [(pid, code) for pid in ids for code in lifecycle.failure_codes(target.contract(pid))]
            metafunc.parametrize("failure", codes, ids=[f"{pid}:{code or 'uncatalogued'}" for pid, code in codes])

    def _settings(self) -> settings:
        """The loaded profile (e.g. the suite's ``ci``/``dev``), without deadlines or a database of its own."""
        chosen: dict[str, Any] = {}
        if self.hypothesis_max_examples is not None:
            chosen["max_examples"] = self.hypothesis_max_examples
        return settings(
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            **chosen,
        )

    # --- the contract and the plugin surface ------------------------------------------------------
    def test_contract_satisfies_the_schema(self, endpoint_id: str) -> None:
        checks.check_contract(self.conformance_target().endpoint(endpoint_id))

    def test_plugin_brings_a_client_protocol_and_a_mock_dialect(self, endpoint_id: str) -> None:
        checks.check_plugin_surface(self.conformance_target().endpoint(endpoint_id))

    # --- rendering --------------------------------------------------------------------------------
    def test_accepted_requests_render_to_bodies_the_schema_and_the_mock_accept(self, endpoint_id: str) -> None:
        provider = self.conformance_target().endpoint(endpoint_id)

        @self._settings()
        @given(request=valid_requests(provider.contract))
        def rendered(request: Any) -> None:
            checks.check_render(provider, request)

        rendered()

    def test_documented_requests_render_to_their_documented_bodies(self, endpoint_id: str) -> None:
        checks.check_request_examples(self.conformance_target().endpoint(endpoint_id))

    # --- recorded responses and the error catalogue -----------------------------------------------
    def test_response_examples_parse(self, response_example: tuple[str, str, int | None]) -> None:
        provider_id, kind, index = response_example
        provider = self.conformance_target().endpoint(provider_id)
        if index is None:
            raise checks.ConformanceError(
                f"{provider_id}: the contract records no {kind!r} example; add the provider's documented answer to "
                "`examples` so the client protocol is checked against it, not only against its own mock"
            )
        checks.check_response_example(provider, provider.contract.examples(kind)[index])

    def test_error_catalogue_entries_map_to_their_exceptions(self, error_entry: tuple[str, int]) -> None:
        provider_id, index = error_entry
        checks.check_error_entry(self.conformance_target().endpoint(provider_id), index)

    # --- reference ordering -----------------------------------------------------------------------
    def test_references_follow_the_ordering_rule_and_bind_as_named(self, endpoint_id: str) -> None:
        provider = self.conformance_target().endpoint(endpoint_id)

        @self._settings()
        @given(request=valid_requests(provider.contract))
        def referenced(request: Any) -> None:
            if provider.contract.references is None:
                checks.check_unreferenced_endpoint(provider, request)
                return
            checks.check_ordering(provider, request)
            checks.check_binding(provider, request)

        referenced()

    # --- the lifecycle against the mock, with the plugin's own dialect ----------------------------
    def test_lifecycle_success_downloads_a_real_mp4(self, endpoint_id: str, tmp_path: Path) -> None:
        lifecycle.check_success(self.conformance_target().registry, endpoint_id, tmp_path)

    def test_lifecycle_failed_generation_keeps_the_native_code(self, failure: tuple[str, str | None], tmp_path: Path) -> None:
        provider_id, code = failure
        lifecycle.check_failure(self.conformance_target().registry, provider_id, code, tmp_path)

    def test_lifecycle_refused_body_raises_the_native_validation_code(self, endpoint_id: str, tmp_path: Path) -> None:
        lifecycle.check_refusal(self.conformance_target().registry, endpoint_id, tmp_path)

    def test_lifecycle_refused_key_raises_authentication_error(self, endpoint_id: str, tmp_path: Path) -> None:
        lifecycle.check_unauthorized(self.conformance_target().registry, endpoint_id, tmp_path)

    def test_lifecycle_cancel_where_the_contract_has_a_route(self, endpoint_id: str, tmp_path: Path) -> None:
        lifecycle.check_cancel(self.conformance_target().registry, endpoint_id, tmp_path)


def _indexes(target: ConformanceTarget, provider_id: str, kind: str) -> list[int | None]:
    count = len(target.contract(provider_id).examples(kind))
    if count:
        return list(range(count))
    return [None] if kind != "error_response" else []  # error answers are covered by the catalogue's bodies


def _example_id(target: ConformanceTarget, provider_id: str, kind: str, index: int | None) -> str:
    if index is None:
        return f"{provider_id}:<no {kind}>"
    return f"{provider_id}:{target.contract(provider_id).examples(kind)[index]['name']}"
