"""The built-in providers pass the conformance kit, loaded through their ``wan26`` entry points like any plugin."""

from __future__ import annotations

from wan26core.testing import ProviderConformance


class TestFal(ProviderConformance):
    provider = "fal"


class TestAimlapi(ProviderConformance):
    provider = "aimlapi"


class TestVtrix(ProviderConformance):
    provider = "vtrix"


class TestDashscope(ProviderConformance):
    provider = "dashscope"
