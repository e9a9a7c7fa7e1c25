"""``wan26 contracts``: check recordings against the contracts, keep the mock honest, seed recordings, OpenAPI.

- ``check [--strict] [--json] [--recordings DIR]`` compares every recording and every contract example
  with its contract (offline) and prints the drift grouped per endpoint; breaking drift exits 1, additions
  are warnings (exit 0) unless ``--strict``;
- ``verify-mock [--json] [--save DIR]`` drives the in-process mock through each contract's scenarios;
- ``seed [--out DIR] [--check]`` writes the seed recordings built from the contracts' examples;
- ``openapi [-o FILE]`` prints the OpenAPI 3.1 document of the mock's surface.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .contract import Contract
from .drift import ContractReport, DriftReport, Finding, LocatedExchange, check_contract
from .errors import Wan26Error
from .plugins import Registry
from .recordings import (
    SEED_NAMES,
    LoadedRecording,
    default_recordings_dir,
    dump_recording,
    load_recordings,
    seed_recordings,
)

if TYPE_CHECKING:  # importlib.resources.abc is Python 3.11+
    from importlib.abc import Traversable

__all__ = ["register", "run_check"]

EXIT_OK, EXIT_DRIFT, EXIT_USAGE = 0, 1, 2


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
    check.set_defaults(handler=_cmd_check)

    verify = sub.add_parser("verify-mock", help="drive the in-process mock through every contract's scenarios")
    verify.add_argument("--json", action="store_true", help="machine-readable output")
    verify.add_argument("--strict", action="store_true", help="warnings (additions) fail too")
    verify.add_argument("--contract", "-c", action="append", default=[], metavar="ID", help="only this provider/model")
    verify.add_argument("--save", metavar="DIR", help="also write the exchanges as recordings <DIR>/<provider>/<model>/mock.json")
    verify.set_defaults(handler=_cmd_verify_mock)

    seed = sub.add_parser("seed", help="write the seed recordings built from the contracts' examples")
    seed.add_argument("--out", metavar="DIR", default="contracts/recordings", help="recordings root (default: %(default)s)")
    seed.add_argument("--check", action="store_true", help="write nothing; exit 1 when a seed file is missing or stale")
    seed.set_defaults(handler=_cmd_seed)

    openapi = sub.add_parser("openapi", help="print the OpenAPI 3.1 document of the mock's surface")
    openapi.add_argument("-o", "--output", metavar="FILE", help="write it to FILE instead of standard output")
    openapi.add_argument("--server", default="http://127.0.0.1:8000", help="server URL in the document (default: %(default)s)")
    openapi.set_defaults(handler=_cmd_openapi)


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
    from .verify import verify_mock

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


def _cmd_openapi(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    from importlib.metadata import PackageNotFoundError, version

    from .openapi import openapi_document, surfaces

    try:
        release = version("wan26")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        release = "0"
    dialects, contracts = surfaces(registry)
    text = json.dumps(
        openapi_document(dialects, contracts, server_url=args.server, version=release), indent=2, ensure_ascii=False
    )
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        out.write(text + "\n")
    return EXIT_OK
