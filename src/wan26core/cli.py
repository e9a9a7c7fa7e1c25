"""The ``wan26`` command line: list providers, validate and render requests."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from .errors import ValidationError, Violation, Wan26Error
from .plugins import Registry, default_registry
from .pricing import estimate_cost
from .provider import Provider
from .request import GenerationRequest
from .validation import validate

__all__ = ["main"]

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
#: modules that bring more sub-commands; handlers are called as ``handler(args, registry, out) -> int``
COMMAND_MODULES: tuple[str, ...] = ("wan26core.cli_jobs", "wan26core.contracts_cli")


class UsageError(Exception):
    """Bad command line or unreadable input: exit status 2."""


def main(argv: Sequence[str] | None = None, *, registry: Registry | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 invalid request, 2 usage error)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage message
        return EXIT_OK if exc.code == 0 else EXIT_USAGE
    registry = registry or default_registry()
    try:
        return int(args.handler(args, registry, sys.stdout))
    except UsageError as exc:
        print(f"wan26: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Wan26Error as exc:
        print(f"wan26: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wan26", description="Provider-agnostic tools for the Wan 2.6 video models.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    providers = sub.add_parser("providers", help="list every registered provider/model with its limits")
    providers.add_argument("--json", action="store_true", help="machine-readable output")
    providers.set_defaults(handler=_cmd_providers)

    for name, handler, text in (
        ("validate", _cmd_validate, "check a request against an endpoint's contract"),
        ("render", _cmd_render, "print the exact wire request that would be sent"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("request", help="request JSON file (- for standard input)")
        cmd.add_argument("--provider", "-p", required=True, help="provider/model, e.g. fal/r2v-flash")
        cmd.add_argument("--json", action="store_true", help="machine-readable output")
        cmd.add_argument("--probe", action="store_true", help="probe media content (needs the [media] extra)")
        cmd.set_defaults(handler=handler)

    mock = sub.add_parser("mock", help="the offline mock of every provider (needs the [mock] extra)")
    mock_sub = mock.add_subparsers(dest="mock_command", required=True, metavar="MOCK_COMMAND")
    serve = mock_sub.add_parser("serve", help="serve the mock on a socket and print each client's settings")
    try:
        from wan26_mock.serve import add_arguments
    except ImportError:
        serve.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    else:
        add_arguments(serve)
    serve.set_defaults(handler=_cmd_mock_serve)
    for module in COMMAND_MODULES:  # each module adds its sub-commands: register(subparsers)
        importlib.import_module(module).register(sub)
    return parser


def _cmd_mock_serve(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    try:
        from wan26_mock.serve import serve
    except ImportError:
        raise UsageError("the mock server needs the [mock] extra: pip install 'wan26[mock]'") from None
    return serve(args, registry)


# --- providers --------------------------------------------------------------------------------------


def _cmd_providers(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    described = [describe(p) for p in registry.providers().values()]
    if args.json:
        json.dump(described, out, indent=2)
        out.write("\n")
        return EXIT_OK
    if not described:
        out.write("no providers registered (check WAN26_LOAD_PLUGINS)\n")
    for d in described:
        out.write(f"{d['id']:<22} {d['task']}  {d['native_model']}\n")
        refs = d.get("references")
        if refs:
            out.write(
                f"    references: {refs['video']['max']} videos, {refs['image']['max']} images, "
                f"{refs['total']['min']}-{refs['total']['max']} in all; order {refs['ordering']}; token {refs['token']}\n"
            )
        opts = d["options"]
        shown = {k: ("n/a" if v is False else v) for k, v in opts.items()}
        out.write(
            f"    prompt <= {d['prompt_max_length']} chars; durations {shown['duration']}; "
            f"resolutions {shown['resolution']}; aspect ratios {shown['aspect_ratio']}\n"
        )
        flags = [name for name, value in opts.items() if value is True]
        out.write(f"    options: {', '.join(flags)}\n")
        out.write(f"    price: {d['pricing']}\n")
    return EXIT_OK


def describe(provider: Provider) -> dict[str, Any]:
    """A provider's capabilities and limits, as shown by ``wan26 providers``."""
    contract = provider.contract
    options: dict[str, Any] = {}
    for name, option in contract.options.items():
        if name == "size_table":
            continue
        options[name] = option.get("values", True) if option["supported"] else False
    limits = contract.limits
    refs = contract.references
    pricing = contract.data["pricing"]
    if pricing.get("documented"):
        price = (
            ", ".join(
                f"{' '.join(f'{k}={v}' for k, v in r['when'].items()) or 'all'}: ${r['per_second']}/s" for r in pricing["rates"]
            )
            + f" (as of {pricing['as_of']})"
        )
    else:
        price = "not documented"
    return {
        "id": provider.id,
        "task": contract.task,
        "native_model": contract.native_model,
        "prompt_max_length": limits["prompt"]["max_length"],
        "references": None
        if refs is None
        else {
            **{k: limits["references"][k] for k in ("video", "image", "total")},
            "ordering": refs["ordering"],
            "token": refs["token"],
        },
        "options": options,
        "pricing": price,
    }


# --- validate and render ----------------------------------------------------------------------------


def _load_request(path: str) -> Any:
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{path} is not valid JSON: {exc}") from None


def _request_and_provider(args: argparse.Namespace, registry: Registry) -> tuple[Provider, GenerationRequest | list[Violation]]:
    provider = registry.get(args.provider)
    data = _load_request(args.request)
    try:
        return provider, GenerationRequest.from_dict(data)
    except ValidationError as exc:
        return provider, exc.violations


def _cmd_validate(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    provider, parsed = _request_and_provider(args, registry)
    violations = parsed if isinstance(parsed, list) else validate(parsed, provider.contract, probe=args.probe)
    errors = [v for v in violations if v.severity == "error"]
    if args.json:
        json.dump({"provider": provider.id, "valid": not errors, "violations": [v.as_dict() for v in violations]}, out, indent=2)
        out.write("\n")
    else:
        _print_violations(provider.id, violations, out)
        if not errors:
            out.write(f"{provider.id}: valid\n")
    return EXIT_INVALID if errors else EXIT_OK


def _cmd_render(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    provider, parsed = _request_and_provider(args, registry)
    if isinstance(parsed, list):
        _report_invalid(args, provider.id, parsed, out)
        return EXIT_INVALID
    try:
        wire = provider.render(parsed, probe=args.probe)
    except ValidationError as exc:
        _report_invalid(args, provider.id, exc.violations, out)
        return EXIT_INVALID
    cost = estimate_cost(parsed, provider.contract)
    if args.json:
        json.dump({**wire.as_dict(), "estimated_cost_usd": cost.usd if cost else None}, out, indent=2, ensure_ascii=False)
    else:
        json.dump(wire.as_dict(), out, indent=2, ensure_ascii=False)
        print(f"estimated cost: {cost if cost else 'not documented by the provider'}", file=sys.stderr)
        if wire.local_files:
            print(f"local files to upload at submit: {', '.join(wire.local_files)}", file=sys.stderr)
    out.write("\n")
    return EXIT_OK


def _report_invalid(args: argparse.Namespace, provider_id: str, violations: list[Violation], out: TextIO) -> None:
    if args.json:
        json.dump({"provider": provider_id, "valid": False, "violations": [v.as_dict() for v in violations]}, out, indent=2)
        out.write("\n")
    else:
        _print_violations(provider_id, violations, sys.stderr)


def _print_violations(provider_id: str, violations: list[Violation], out: TextIO) -> None:
    errors = sum(1 for v in violations if v.severity == "error")
    if violations:
        out.write(f"{provider_id}: {errors} violation(s), {len(violations) - errors} warning(s)\n")
    for v in violations:
        out.write(f"  {v.severity}: {v.field}: {v.message}\n")
        details = [f"rule {v.rule}"]
        if v.limit is not None:
            details.append(f"limit {v.limit}")
        if v.value is not None:
            details.append(f"value {v.value!r}")
        out.write(f"      {'; '.join(details)}\n")
        if v.native is not None:
            out.write(f"      provider would answer: {v.native}\n")


def main_entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    main_entry()
