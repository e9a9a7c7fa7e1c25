"""Helpers for the contract-drift tests: the repository's recordings and mutated copies of them."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support import CONTRACTS
from wan26core.cli._contracts import run_check
from wan26core.drift._drift import Finding
from wan26core.drift._recordings import dump_recording, load_recordings
from wan26core.drift._reports import DriftReport

ROOT = Path(__file__).resolve().parents[2]
RECORDINGS = ROOT / "contracts" / "recordings"


def recording(contract_id: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDINGS / contract_id / f"{name}.json").read_text(encoding="utf-8"))
    return data


def exchange(contract_id: str, name: str, example: str) -> dict[str, Any]:
    """A deep copy of one exchange of a committed recording, found by its example name."""
    found = next(e for e in recording(contract_id, name)["exchanges"] if e.get("example") == example)
    return copy.deepcopy(found)


def write(root: Path, contract_id: str, exchanges: list[dict[str, Any]], name: str = "mutated") -> Path:
    data = {**recording(contract_id, "seed-examples"), "name": name, "exchanges": exchanges}
    path = root / contract_id / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_recording(data), encoding="utf-8")
    return path


def check_dir(root: Path, *only: str, strict: bool = False) -> DriftReport:
    return run_check(dict(CONTRACTS), load_recordings(root), strict=strict, only=list(only) or None)


def mutated(
    root: Path, contract_id: str, name: str, example: str, change: Callable[[dict[str, Any]], None], *, strict: bool = False
) -> tuple[DriftReport, list[Finding]]:
    """Check a copy of one recorded exchange after ``change``; the findings it alone causes."""
    item = exchange(contract_id, name, example)
    change(item)
    write(root, contract_id, [item])
    report = check_dir(root, contract_id, strict=strict)
    return report, [f for f in report.findings() if "mutated.json" in f.where]
