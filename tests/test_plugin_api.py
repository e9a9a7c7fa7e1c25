"""The declared surfaces: ``wan26core`` for users, ``wan26core.plugin`` for provider plugins.

The name lists below are pinned on purpose: adding or removing a public name is an API change and must be made
here too. Provider packages (the built-ins and the example WaveSpeed plugin) may import from the core only through
``wan26core.plugin``; the source check parses them with ``ast``, so nested and conditional imports count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import wan26core
import wan26core.plugin

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_PACKAGES = sorted(
    [p for p in (ROOT / "src" / "providers").iterdir() if p.is_dir() and p.name.startswith("wan26_")]
    + [ROOT / "examples" / "wan26-wavespeed" / "src" / "wan26_wavespeed"]
)
ALLOWED = {"wan26core.plugin"}

CORE_NAMES = {
    "AsyncClient", "AsyncJob", "AsyncResult", "AuthenticationError", "Binding", "Client", "ContentPolicyError", "Contract",
    "ContractProvider", "CostEstimate", "DownloadError", "GenerationFailedError", "GenerationRequest", "Job",
    "JobCancelledError", "JobNotFoundError", "JobRecord", "JobRef", "JobStatus", "JobTimeoutError", "Journal",
    "MalformedResponseError", "MissingExtraError", "NativeError", "PermissionDeniedError", "PluginError", "Provider",
    "ProviderError", "RateLimitError", "Reference", "Registry", "Report", "Result", "RetryPolicy", "SubmitUncertainError",
    "TransportError", "UnknownProviderError", "UnsupportedOptionError", "ValidationError", "VideoResult", "Violation",
    "Wan26Error", "WebhookVerificationError", "WireRequest", "__version__", "bind_references", "builtin_contract", "check",
    "contract_problems", "contract_schema", "default_registry", "estimate_cost", "get_provider", "hookimpl", "parse_prompt",
    "read_back", "render_body", "validate", "verify_webhook",
    # the shared journal (docs/journal.md)
    "PostgresJournal", "open_journal",
}  # fmt: skip

PLUGIN_NAMES = {
    # registration
    "hookimpl", "Provider", "ContractProvider",
    # contracts and rendering
    "Contract", "builtin_contract", "GenerationRequest", "Reference", "WireRequest", "render_body", "get_path",
    # the client side
    "ClientProtocol", "ContractClientProtocol", "HttpCall", "HttpReply", "JobRef", "JobState", "JobStatus", "VideoResult",
    "error_for",
    # the effect vocabulary
    "Op", "RetryPolicy", "send_op",
    # the mock side
    "Dialect", "StreamingDialect", "WebhookDialect", "WebhookSigner", "StorageDialect", "UploadStorage", "MockStream",
    "file_chunks",
    "JobSnapshot", "MockRequest", "MockResponse", "Route", "StreamEvent",
    "Video", "credential", "is_json", "json_body", "request_id_of", "stable_request_id", "select_by_model", "select_by_path",
    "wire_location", "wire_path",
    # errors
    "NativeError", "Violation", "Wan26Error", "ValidationError", "PluginError", "ProviderError", "AuthenticationError",
    "PermissionDeniedError", "RateLimitError", "JobNotFoundError", "MalformedResponseError", "GenerationFailedError",
    "ContentPolicyError", "TransportError", "MissingExtraError", "WebhookVerificationError",
}  # fmt: skip


def core_imports(source: str) -> list[str]:
    """Every ``wan26core`` module a source imports (``import a.b``, ``from a.b import c``, at any depth)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "wan26core"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "wan26core":
            found += [f"wan26core.{a.name}" for a in node.names]  # ``from wan26core import plugin`` names a module
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.split(".")[0] == "wan26core":
            found.append(node.module)
    return found


def test_the_core_public_names_are_pinned() -> None:
    assert set(wan26core.__all__) == CORE_NAMES


def test_the_plugin_api_names_are_pinned() -> None:
    assert set(wan26core.plugin.__all__) == PLUGIN_NAMES
    assert len(wan26core.plugin.__all__) == len(PLUGIN_NAMES)  # no name listed twice


def test_every_plugin_api_name_resolves_lazily() -> None:
    assert set(wan26core.plugin._LAZY) == PLUGIN_NAMES
    for name in wan26core.plugin.__all__:
        assert getattr(wan26core.plugin, name) is not None, name
    with pytest.raises(AttributeError):
        wan26core.plugin.Client  # noqa: B018  (a user name, not a plugin one)


def test_the_plugin_api_hands_out_the_core_objects() -> None:
    for name in set(wan26core.plugin.__all__) & set(wan26core.__all__):
        assert getattr(wan26core.plugin, name) is getattr(wan26core, name), name


@pytest.mark.parametrize("package", PLUGIN_PACKAGES, ids=lambda p: p.name)
def test_a_plugin_package_imports_the_core_only_through_the_plugin_api(package: Path) -> None:
    sources = sorted(package.rglob("*.py"))
    assert sources, package
    outside = {
        f"{path.relative_to(package)}: {module}"
        for path in sources
        for module in core_imports(path.read_text(encoding="utf-8"))
        if module not in ALLOWED
    }
    assert not outside, sorted(outside)


@pytest.mark.parametrize(
    "source",
    [
        "from wan26core._runtime import send_op",
        "import wan26core._protocol",
        "from wan26core import Contract",
        "from wan26core import _runtime",
        "from wan26core import plugin, _errors",
        "def f():\n    from wan26core._rules.references import get_path\n",
        "if True:\n    import wan26core._dialect as d\n",
    ],
)
def test_the_import_check_sees_every_way_to_reach_an_internal(source: str) -> None:
    assert [m for m in core_imports(source) if m not in ALLOWED]


def test_the_import_check_accepts_the_plugin_api() -> None:
    assert core_imports("from wan26core.plugin import Contract\nfrom . import dialect\nimport json") == ["wan26core.plugin"]
    assert core_imports("from wan26core import plugin") == ["wan26core.plugin"]  # the built-ins' spelling


#: the modules and packages of wan26core a user or a plugin may import; every other module's name starts with "_"
PUBLIC_MODULES = {
    "wan26core",
    "wan26core.__main__",  # python -m wan26core
    "wan26core.plugin",  # the plugin API
    "wan26core.webhooks",  # verify_webhook, fetch_jwks
    "wan26core.cli",  # the wan26 command (its entry point)
    "wan26core.drift",  # contract tooling: a package of private modules
    "wan26core.testing",  # the pytest plugin and the conformance kit
}


def test_every_other_core_module_is_private_by_name() -> None:
    root = ROOT / "src" / "wan26core"
    public = set()
    for path in root.rglob("*.py"):
        parts = ("wan26core", *path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not any(part.startswith("_") and part != "__main__" for part in parts):
            public.add(".".join(parts))
    assert {m for m in public if not m.startswith("wan26core.testing.")} == PUBLIC_MODULES
