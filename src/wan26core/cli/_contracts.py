"""``wan26 contracts``: check recordings against the contracts, keep the mock honest, seed recordings, OpenAPI.

- ``check [--strict] [--json] [--recordings DIR]`` compares every recording and every contract example
  with its contract (offline) and prints the drift grouped per endpoint; breaking drift exits 1, additions
  are warnings (exit 0) unless ``--strict``;
- ``verify-mock [--json] [--save DIR]`` drives the in-process mock through each contract's scenarios;
- ``seed [--out DIR] [--check]`` writes the seed recordings built from the contracts' examples;
- ``openapi [-o FILE]`` prints the OpenAPI 3.1 document of the mock's surface;
- ``record --provider ID [--scenario NAME ...] [--full] [--yes]`` (online, paid, opt-in) records a few
  cheap exchanges with the real provider, after printing the plan and its expected cost and asking.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from wan26core._contract import Contract
from wan26core._errors import Wan26Error
from wan26core._plugins import Registry
from wan26core.drift._drift import Finding, LocatedExchange
from wan26core.drift._recordings import (
    SEED_NAMES,
    LoadedRecording,
    default_recordings_dir,
    dump_recording,
    load_recordings,
    seed_recordings,
)
from wan26core.drift._reports import ContractReport, DriftReport, check_contract

if TYPE_CHECKING:  # importlib.resources.abc is Python 3.11+
    from importlib.abc import Traversable

__all__ = ["register", "run_check"]

EXIT_OK, EXIT_DRIFT, EXIT_USAGE = 0, 1, 2


def _usage_errors(handler: Any) -> Any:
    """A contracts command's own refusals (a plain :class:`Wan26Error`: a missing folder, key or extra, a file that
    would be overwritten) are usage errors, exit 2; errors from a provider keep their own status."""

    def run(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
        from wan26core.cli import UsageError

        try:
            return int(handler(args, registry, out))
        except Wan26Error as exc:
            if type(exc) is Wan26Error:
                raise UsageError(str(exc)) from None
            raise

    return run


def register(subparsers: Any) -> None:
    """Add the ``contracts`` command group to the ``wan26`` parser."""
    contracts = subparsers.add_parser("contracts", help="check recordings and the mock against the contracts")
    sub = contracts.add_subparsers(dest="contracts_command", required=True, metavar="CONTRACTS_COMMAND")

    check = sub.add_parser("check", help="offline: compare every recording and contract example with its contract")
    check.add_argument("--strict", action="store_true", help="warnings (additions) fail too")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument("--recordings", metavar="DIR", help="recordings root (default: the recordings shipped with wan26)")
    check.add_argument("--contract", "-c", action="append", default=[], metavar="ID", help="only this provider/model")
    check.add_argument("--verbose", "-v", action="store_true", help="also list info findings (status words never seen)")
    check.set_defaults(handler=_usage_errors(_cmd_check))

    verify = sub.add_parser("verify-mock", help="drive the in-process mock through every contract's scenarios")
    verify.add_argument("--json", action="store_true", help="machine-readable output")
    verify.add_argument("--strict", action="store_true", help="warnings (additions) fail too")
    verify.add_argument("--contract", "-c", action="append", default=[], metavar="ID", help="only this provider/model")
    verify.add_argument("--save", metavar="DIR", help="also write the exchanges as recordings <DIR>/<provider>/<model>/mock.json")
    verify.set_defaults(handler=_usage_errors(_cmd_verify_mock))

    seed = sub.add_parser("seed", help="write the seed recordings built from the contracts' examples")
    seed.add_argument("--out", metavar="DIR", default="contracts/recordings", help="recordings root (default: %(default)s)")
    seed.add_argument("--check", action="store_true", help="write nothing; exit 1 when a seed file is missing or stale")
    seed.set_defaults(handler=_usage_errors(_cmd_seed))

    openapi = sub.add_parser("openapi", help="print the OpenAPI 3.1 document of the mock's surface")
    openapi.add_argument("-o", "--output", metavar="FILE", help="write it to FILE instead of standard output")
    openapi.add_argument("--server", default="http://127.0.0.1:8000", help="server URL in the document (default: %(default)s)")
    openapi.set_defaults(handler=_usage_errors(_cmd_openapi))

    _register_record(sub)


def _register_record(sub: Any) -> None:
    from wan26core.drift._record import SCENARIOS

    record = sub.add_parser(
        "record",
        help="online, paid: record a few cheap exchanges with the real provider (prints the cost, asks first)",
        description="Send a few cheap requests to the real provider with your key and write the exchanges, scrubbed, as a"
        " new recording; then run `wan26 contracts check --recordings DIR`. Never run in CI.",
    )
    record.add_argument("--provider", "-p", required=True, metavar="ID", help="provider/model, e.g. fal/r2v-flash")
    record.add_argument(
        "--scenario",
        action="extend",
        nargs="+",
        default=[],
        metavar="NAME",
        help=f"only these ({', '.join(SCENARIOS)}); default: refusal unknown-job submit (submit where jobs can be cancelled)",
    )
    record.add_argument(
        "--full", action="store_true", help="also follow one job to its end and fetch the result (a whole paid job)"
    )
    record.add_argument(
        "--yes", "-y", action="store_true", help="do not ask for confirmation (needed when stdin is not a terminal)"
    )
    record.add_argument("--key-env", metavar="VAR", help="the environment variable holding the key (default: the provider's own)")
    record.add_argument("--base-url", metavar="URL", help="where the provider is (default: the contract's, or its env variable)")
    record.add_argument("--out", metavar="DIR", default="contracts/recordings", help="recordings root (default: %(default)s)")
    record.add_argument("--name", help="file name without .json (default: live-<UTC time>); an existing file is refused")
    record.add_argument(
        "--ref", action="append", default=[], metavar="URL", help="reference media URL (default: the contract's sample)"
    )
    record.add_argument("--image", metavar="URL", help="first frame URL for image-to-video (default: the contract's sample)")
    record.add_argument(
        "--poll-interval", type=float, metavar="S", help="full run: seconds between polls (default: the contract's timing)"
    )
    record.add_argument(
        "--timeout", type=float, metavar="S", help="full run: the longest wait (default: 1.5 x the slowest documented job)"
    )
    record.set_defaults(handler=_usage_errors(_cmd_record))


# --- check ------------------------------------------------------------------------------------------


def run_check(
    contracts: dict[str, Contract], recordings: list[LoadedRecording], *, strict: bool = False, only: list[str] | None = None
) -> DriftReport:
    """Check every recording and every contract example (seeds built in memory) against its contract."""
    selected = {cid: c for cid, c in contracts.items() if not only or cid in only}
    located: dict[str, list[LocatedExchange]] = {cid: [] for cid in selected}
    reports: dict[str, ContractReport] = {}
    extra: list[Finding] = []
    stale: dict[str, list[Finding]] = {cid: [] for cid in selected}
    seeds = {cid: seed_recordings(c) for cid, c in selected.items()}
    for recording in recordings:
        cid = recording.contract or "/".join(recording.path.split("/")[:2])
        if only and cid not in only:
            continue
        if recording.problems:
            finding = Finding(cid, "recording_invalid", "recording", "", "; ".join(recording.problems[:3]), recording.path)
            (stale[cid] if cid in selected else extra).append(finding)
            continue
        if cid not in selected:
            message = f"no installed plugin provides {cid}"
            extra.append(Finding(cid, "contract_unknown", "recording", "", message, recording.path))
            continue
        if recording.name in SEED_NAMES and recording.data != seeds[cid].get(recording.name):
            message = f"{recording.path} differs from what contracts/{cid}.json generates: run `wan26 contracts seed`"
            stale[cid].append(Finding(cid, "seed_stale", "recording", "", message, recording.path))
        for i, exchange in enumerate(recording.exchanges()):
            located[cid].append(LocatedExchange(exchange, f"{recording.path}#{i}"))
    for cid, contract in sorted(selected.items()):
        for name, seed in seeds[cid].items():
            for i, exchange in enumerate(seed["exchanges"]):
                located[cid].append(LocatedExchange(exchange, f"contracts/{cid}.json {name}#{i}"))
        reports[cid] = check_contract(contract, located[cid])
        for finding in stale[cid]:
            reports[cid].add(finding)
    return DriftReport(reports, strict=strict, extra=extra)


def _cmd_check(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    contracts = {pid: p.contract for pid, p in registry.providers().items()}
    unknown = sorted(set(args.contract) - set(contracts))
    if unknown:
        raise Wan26Error(f"unknown contract {', '.join(unknown)}; known: {', '.join(sorted(contracts))}")
    root: Traversable | Path = default_recordings_dir()
    if args.recordings:
        root = Path(args.recordings)
        if not root.is_dir():
            raise Wan26Error(f"recordings directory {args.recordings} does not exist")
    report = run_check(contracts, load_recordings(root), strict=args.strict, only=args.contract)
    _emit(report, args, out)
    return EXIT_OK if report.ok else EXIT_DRIFT


def _emit(report: DriftReport, args: argparse.Namespace, out: TextIO) -> None:
    if args.json:
        json.dump(report.as_dict(), out, indent=2, ensure_ascii=False, default=str)
        out.write("\n")
    else:
        out.write(report.render(verbose=getattr(args, "verbose", False)))


# --- verify-mock ------------------------------------------------------------------------------------


def _cmd_verify_mock(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    from wan26core.drift._verify import verify_mock

    run = verify_mock(registry, only=args.contract, strict=args.strict)
    if args.save:
        for path in run.save(Path(args.save)):
            print(f"wrote {path}", file=sys.stderr)
    _emit(run.report, args, out)
    return EXIT_OK if run.report.ok else EXIT_DRIFT


# --- seed -------------------------------------------------------------------------------------------


def _cmd_seed(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    root = Path(args.out)
    changed: list[str] = []
    for cid, provider in sorted(registry.providers().items()):
        for name, data in seed_recordings(provider.contract).items():
            path = root / cid / f"{name}.json"
            text = dump_recording(data)
            current = path.read_text(encoding="utf-8") if path.is_file() else None
            if current == text:
                continue
            changed.append(str(path))
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    verb = "stale or missing" if args.check else "written"
    for name in changed:
        out.write(f"{verb}: {name}\n")
    out.write(f"{len(changed)} seed recording(s) {verb}\n")
    return EXIT_DRIFT if args.check and changed else EXIT_OK


# --- openapi ----------------------------------------------------------------------------------------


def _release() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wan26")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


def _cmd_openapi(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    from wan26core.drift._openapi import openapi_document, surfaces

    dialects, contracts = surfaces(registry)
    text = json.dumps(
        openapi_document(dialects, contracts, server_url=args.server, version=_release()), indent=2, ensure_ascii=False
    )
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        out.write(text + "\n")
    return EXIT_OK


# --- record -----------------------------------------------------------------------------------------


def _cmd_record(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    from wan26core.drift._record import plan_recording, resolve_key, run_recording

    provider = registry.get(args.provider)
    key, key_source = resolve_key(provider.contract, args.key_env, os.environ)
    plan = plan_recording(
        provider,
        scenarios=args.scenario,
        full=args.full,
        base_url=args.base_url,
        out=args.out,
        name=args.name,
        references=args.ref,
        image=args.image,
    )
    err = sys.stderr
    err.write(plan.describe(key_source))
    if not args.yes:
        if not _is_terminal(sys.stdin):
            err.write("wan26: error: standard input is not a terminal, so nothing was sent: pass --yes to confirm\n")
            return EXIT_USAGE
        err.write("Send these requests with your key? [y/N] ")
        err.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            err.write("aborted: nothing was sent\n")
            return EXIT_DRIFT
    release = _release()
    run = run_recording(plan, key, version=release, timeout=args.timeout, poll_interval=args.poll_interval)
    for problem in run.problems:
        err.write(f"warning: {problem}\n")
    if run.jobs:
        err.write(f"jobs submitted at {plan.provider_id}: {', '.join(run.jobs)}\n")
    if not run.exchanges:
        err.write("wan26: error: no exchange was recorded; nothing written\n")
        return EXIT_DRIFT
    path = run.write(plan, release)
    out.write(f"wrote {path} ({len(run.exchanges)} exchanges)\n")
    out.write(f"next: wan26 contracts check --recordings {args.out} -c {plan.provider_id}\n")
    return EXIT_OK


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
