"""The ``wan26`` command line: list providers, validate and render requests; the job commands live in
:mod:`wan26core.cli._jobs` and the contract tools in :mod:`wan26core.cli._contracts`.

Start-up is kept light: a command imports only what it uses (``wan26 --help`` and ``wan26 validate`` never
import httpx, the client runtime or the mock), so sub-command modules are imported only when chosen.

Every expected failure ends in one line on stderr, ``wan26: error: <what, where, what to do>``, and one of
these exit statuses (tracebacks only with ``--debug`` or ``WAN26_DEBUG=1``):

==== ===========================================================================================
0    success
1    the request is invalid, the provider refused it, or the job failed (with the provider's code)
2    usage: bad arguments, unreadable input, unknown job or provider, no API key, missing extra, damaged journal
3    uncertain: the job may exist at the provider (timeout, lost answer, interrupted download):
     ``wan26 jobs resume`` finds out and finishes it
130  interrupted (Ctrl-C); a job already submitted keeps running and the message says how to follow it
141  standard output was closed (``wan26 … | head``): silent, as a shell reports SIGPIPE
==== ===========================================================================================
"""

from __future__ import annotations

import argparse
import errno
import importlib
import io
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from wan26core._errors import ValidationError, Violation, Wan26Error

if TYPE_CHECKING:
    from wan26core._plugins import Registry
    from wan26core._provider import Provider

from wan26core.cli._messages import cli_wording, journal_message, resume_hint, took_journal
from wan26core.cli._parsing import Argument, add_commands

__all__ = ["main"]

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_UNCERTAIN, EXIT_INTERRUPTED, EXIT_CLOSED_STDOUT = 0, 1, 2, 3, 130, 141
#: sub-command -> the module that adds it (``register(subparsers)``); handlers are ``handler(args, registry, out) -> int``
COMMAND_MODULES: dict[str, str] = {
    "generate": "wan26core.cli._jobs",
    "status": "wan26core.cli._jobs",
    "result": "wan26core.cli._jobs",
    "cancel": "wan26core.cli._jobs",
    "jobs": "wan26core.cli._jobs",
    "contracts": "wan26core.cli._contracts",
}
#: what ``wan26 --help`` says of the commands whose module is not imported
COMMAND_HELP: dict[str, str] = {
    "generate": "submit a request, wait for it and download the video",
    "status": "ask the provider for a journaled job's status",
    "cancel": "ask the provider to cancel a journaled job",
    "result": "fetch a finished job's result (and download it with -o)",
    "jobs": "the local journal of submitted jobs: list, show, resume, download, migrate",
    "contracts": "check recordings and the mock against the contracts",
}


class UsageError(Exception):
    """Bad command line or unreadable input: exit status 2."""


def main(argv: Sequence[str] | None = None, *, registry: Registry | None = None) -> int:
    """Run the CLI; returns the exit status (see the module's table)."""
    if sys.stdout is None:  # started with standard output closed (`wan26 … >&-`): as silent as a closed pipe
        sys.stdout = _ClosedStdout()
    arguments = list(sys.argv[1:] if argv is None else argv)
    flagged = "--debug" in arguments[: arguments.index("--") if "--" in arguments else len(arguments)]
    if flagged:  # accepted anywhere before `--`, not only before the sub-command
        arguments.remove("--debug")
    debug = flagged or os.environ.get("WAN26_DEBUG", "") not in ("", "0")
    try:
        args = _parser(arguments).parse_args(arguments)
    except SystemExit as exc:  # argparse already printed the usage message (or the help)
        return _flushed(EXIT_OK if exc.code in (0, None) else EXIT_USAGE)
    except BrokenPipeError:  # `wan26 --help | head -1`
        _silence_stdout()
        return EXIT_CLOSED_STDOUT
    try:
        if registry is None:
            from wan26core._plugins import default_registry

            registry = default_registry()
        status = int(args.handler(args, registry, sys.stdout))
        sys.stdout.flush()  # a closed stdout shows here, not in the interpreter's last flush
        return status
    except BaseException as exc:
        if debug and not isinstance(exc, (KeyboardInterrupt, BrokenPipeError, SystemExit)):
            raise
        return fail(exc, args)


def fail(exc: BaseException, args: argparse.Namespace | None = None) -> int:
    """Report ``exc`` as one ``wan26: error: …`` line (or the violation list) and return its exit status."""
    from wan26core._redaction import redact_text

    if isinstance(exc, SystemExit):
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    if isinstance(exc, BrokenPipeError):
        _silence_stdout()
        return EXIT_CLOSED_STDOUT
    if isinstance(exc, KeyboardInterrupt):
        if getattr(args, "command", None) in ("status", "result", "cancel", "jobs"):
            _say("wan26: interrupted; journaled jobs keep running at their provider: `wan26 jobs resume` picks them up")
        else:
            _say("wan26: interrupted")
        return EXIT_INTERRUPTED
    status, text = classify(exc, args)
    _say(f"wan26: error: {redact_text(cli_wording(text))}")
    if not isinstance(exc, (Wan26Error, UsageError, OSError)) and status == EXIT_INVALID:
        _say("wan26: this looks like a bug in wan26: run again with --debug for the traceback, and please report it")
    return status


def classify(exc: BaseException, args: argparse.Namespace | None = None) -> tuple[int, str]:
    """The exit status and the one-line message for ``exc`` (the violation list for a ValidationError)."""
    import sqlite3

    from wan26core import _errors as errors

    if isinstance(exc, UsageError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, errors.ValidationError):
        return EXIT_INVALID, str(exc)
    if isinstance(exc, sqlite3.DatabaseError) or type(exc).__name__ == "JournalError" or took_journal(exc):
        return EXIT_USAGE, journal_message(exc, args)
    if isinstance(exc, (errors.SubmitUncertainError, errors.JobTimeoutError, errors.DownloadError, errors.TransportError)):
        hint = resume_hint(exc)
        return EXIT_UNCERTAIN, f"{exc}{hint}"
    if isinstance(exc, (errors.PluginError, errors.MissingExtraError)) or type(exc).__name__ in (
        "UnknownJobError",
        "IdempotencyKeyError",  # a blank key, or one given to another request: nothing was sent
    ):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, errors.AuthenticationError) and exc.http_status is None:  # no key given: set-up, not a refusal
        return EXIT_USAGE, str(exc)
    if isinstance(exc, Wan26Error):
        return EXIT_INVALID, str(exc)
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return EXIT_USAGE, f"{exc.strerror or exc}{where}"
    return EXIT_INVALID, f"unexpected {type(exc).__name__}: {exc}"


class _ClosedStdout(io.TextIOBase):
    """Standard output when the process was started without one: every write is a closed pipe's."""

    pending = False  # a write failed; the next flush says so once (argparse swallows the write's error)

    def write(self, text: str) -> int:
        self.pending = True
        raise BrokenPipeError(errno.EPIPE, "standard output is closed")

    def flush(self) -> None:
        if self.pending:
            self.pending = False
            raise BrokenPipeError(errno.EPIPE, "standard output is closed")


def _flushed(status: int) -> int:
    """``status``, once standard output is flushed (EXIT_CLOSED_STDOUT, silently, when it was closed)."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_CLOSED_STDOUT
    except (OSError, ValueError):
        pass
    return status


def _say(line: str) -> None:
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _silence_stdout() -> None:
    """After a BrokenPipeError: point stdout at /dev/null so the interpreter's final flush stays quiet."""
    if isinstance(sys.stdout, _ClosedStdout):
        sys.stdout.pending = False
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _chosen(arguments: Sequence[str]) -> str | None:
    """The sub-command named on the command line (the first word that is not an option), if any."""
    for word in arguments:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word
    return None


class _Parser(argparse.ArgumentParser):
    """argparse, except that a closed stdout under ``--help`` is not swallowed (PYTHONUNBUFFERED writes at once)."""

    def _print_message(self, message: str, file: Any = None) -> None:
        stream = file or sys.stderr
        if message and stream is not None:
            stream.write(message)  # BrokenPipeError: main() exits 141 in silence


def _parser(arguments: Sequence[str] = ()) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="wan26",
        description="Provider-agnostic tools for the Wan 2.6 video models.",
        epilog="exit status: 0 ok, 1 invalid request or failed job, 2 usage, 3 uncertain (see `wan26 jobs resume`),"
        " 130 interrupted. --debug (anywhere) shows tracebacks.",
    )
    parser.add_argument("--debug", action="store_true", help="show a traceback when something fails")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = _chosen(arguments)

    providers = sub.add_parser("providers", help="list every registered provider/model with its limits")
    providers.add_argument("--json", action="store_true", help="machine-readable output")
    providers.set_defaults(handler=_cmd_providers)

    add_commands(sub, _REQUEST_COMMANDS, _REQUEST_ARGUMENTS)

    mock = sub.add_parser("mock", help="the offline mock of every provider (needs the [mock] extra)")
    mock_sub = mock.add_subparsers(dest="mock_command", required=True, metavar="MOCK_COMMAND")
    serve = mock_sub.add_parser("serve", help="serve the mock on a socket and print each client's settings")
    add_arguments: Any = None
    if chosen == "mock":  # the mock's own options, only when it is the command (importing it costs ~0.1 s)
        try:
            from wan26_mock.serve import add_arguments
        except ImportError:
            add_arguments = None
    if add_arguments is None:
        serve.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    else:
        add_arguments(serve)
    serve.set_defaults(handler=_cmd_mock_serve)

    registered: set[str] = set()
    if chosen in COMMAND_MODULES:
        registered.add(COMMAND_MODULES[chosen])
        importlib.import_module(COMMAND_MODULES[chosen]).register(sub)
    for command, text in COMMAND_HELP.items():
        if COMMAND_MODULES[command] not in registered:
            sub.add_parser(command, help=text, add_help=False).set_defaults(handler=_not_loaded)
    return parser


def _not_loaded(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:  # pragma: no cover - never chosen
    raise UsageError(f"the {args.command} command could not be loaded")


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
        also = f"  (also {', '.join(d['aliases'])})" if d["aliases"] else ""
        out.write(f"{d['id']:<22} Wan {d['generation']}  {d['task']}  {d['native_model']}{also}\n")
        refs = d.get("references")
        if refs:
            out.write(
                f"    references: {refs['video']['max']} videos, {refs['image']['max']} images, "
                f"{refs['total']['min']}-{refs['total']['max']} in all; order {refs['ordering']}; "
                f"token {_token_text(refs['token'])}\n"
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
        for rule in d["conditional_limits"]:
            out.write(f"    rule {rule['rule']}: {rule['message']}\n")
    return EXIT_OK


def _token_text(token: str | dict[str, str]) -> str:
    """``character{n}``, or ``Image {n} / Video {n} (numbered per kind)``."""
    return token if isinstance(token, str) else " / ".join(token.values()) + " (numbered per kind)"


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
        "generation": contract.generation,
        "aliases": [f"{provider.id.split('/', 1)[0]}/{a}" for a in contract.aliases],
        "task": contract.task,
        "native_model": contract.native_model,
        "prompt_max_length": limits["prompt"]["max_length"],
        "conditional_limits": [{"rule": r["rule"], "message": r["message"]} for r in contract.conditional_limits],
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
        raise UsageError(f"cannot read request file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:  # not the journal's: say which file, not "move the journal aside"
        raise UsageError(f"cannot read request file {path}: {exc}; save it as UTF-8 JSON") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise UsageError(f"{path} is not valid JSON: {exc}") from None


def every_violation(data: Any, provider: Provider, *, probe: bool = False) -> list[Violation]:
    """The request's violations, all at once: the fields that do not parse, and the contract's rules applied to
    the fields that do (an unknown field does not hide ``watermark`` being unsupported)."""
    from wan26core._rules.request import parse_partial
    from wan26core._rules.validation import validate

    request, problems = parse_partial(data)
    if request is None:
        return problems
    found = validate(request, provider.contract, probe=probe)
    if not problems:
        return found
    reported = {v.field for v in problems}
    bad_reference = any(v.field.startswith("references") for v in problems)
    kept = [
        v
        for v in found
        if v.field not in reported
        and not (bad_reference and (v.field.startswith("references") or v.rule.startswith("references")))
    ]
    return [*problems, *kept]


def _cmd_validate(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    provider = registry.get(args.provider)
    violations = every_violation(_load_request(args.request), provider, probe=args.probe)
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
    from wan26core._rules.request import GenerationRequest

    provider = registry.get(args.provider)
    data = _load_request(args.request)
    try:
        parsed = GenerationRequest.from_dict(data)
    except ValidationError:
        _report_invalid(args, provider.id, every_violation(data, provider, probe=args.probe), out)
        return EXIT_INVALID
    try:
        wire = provider.render(parsed, probe=args.probe)
    except ValidationError as exc:
        _report_invalid(args, provider.id, exc.violations, out)
        return EXIT_INVALID
    from wan26core._pricing import estimate_cost

    cost = estimate_cost(parsed, provider.contract, probe=args.probe)
    if args.json:
        estimate = cost.as_json() if cost else {"estimated_cost_usd": None, "estimated_cost_usd_max": None}
        json.dump({**wire.as_dict(), **estimate}, out, indent=2, ensure_ascii=False)
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


#: the subcommands that share _REQUEST_ARGUMENTS
_REQUEST_COMMANDS = [
    ("validate", _cmd_validate, "check a request against an endpoint's contract"),
    ("render", _cmd_render, "print the exact wire request that would be sent"),
]
_REQUEST_ARGUMENTS: list[Argument] = [
    (("request",), {"help": "request JSON file (- for standard input)"}),
    (("--provider", "-p"), {"required": True, "help": "provider/model, e.g. fal/r2v-flash"}),
    (("--json",), {"action": "store_true", "help": "machine-readable output"}),
    (("--probe",), {"action": "store_true", "help": "probe media content (needs the [media] extra)"}),
]


if __name__ == "__main__":  # pragma: no cover
    main_entry()
