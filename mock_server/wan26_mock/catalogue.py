"""The native errors of a contract's catalogue that the engine answers with: for an injected fault and for a job that
fails (by kind, then by HTTP status)."""

from __future__ import annotations

from wan26core import Contract, NativeError, Violation

from .faults import Fault

__all__ = ["body_refusal", "catalogue_error", "fault_failure", "task_failure"]


def catalogue_error(contract: Contract, kind: str, status: int | None = None, *, exact: bool = False) -> NativeError | None:
    """The first catalogued error of ``kind`` (with ``status`` when given; else, unless ``exact``, any status)."""
    for entry in contract.data["errors"]:
        if entry["kind"] == kind and (status is None or entry["http_status"] == status):
            return NativeError(entry["http_status"], entry["code"], entry["message"])
    if status is not None and not exact:
        return catalogue_error(contract, kind)
    return None


def fault_failure(contract: Contract, fault: Fault) -> NativeError:
    if fault.name == "generation_failed" and fault.argument:
        entry = contract.error(fault.argument)
        if entry is not None:
            return NativeError(entry["http_status"], entry["code"], entry["message"])
    kind = "content_policy" if fault.name == "content_policy" else "generation_failed"
    # always one of the provider's own codes: a catalogue without the kind (DashScope lists no generation failure,
    # AI/ML API no content refusal) gives its generic failure, else its internal error
    for fallback in (kind, "generation_failed", "provider"):
        native = task_failure(contract, fallback)
        if native is not None:
            return native
    return NativeError(None, kind, f"the generation failed ({kind})")


def task_failure(contract: Contract, kind: str) -> NativeError | None:
    """The catalogue's error of ``kind`` for a job that failed after it was accepted: the one reported in a task's
    status (no HTTP status) first, then a 500, then any."""
    entries = (e for e in contract.data["errors"] if e["kind"] == kind)
    entry = min(entries, key=lambda e: 0 if e["http_status"] is None else 1 if e["http_status"] == 500 else 2, default=None)
    return NativeError(entry["http_status"], entry["code"], entry["message"]) if entry is not None else None


def body_refusal(contract: Contract, message: str, rule: str = "request.type") -> Violation:
    """A body-level refusal: the catalogue's entry for ``rule`` (``request.json``: not JSON, ``request.body``: not an
    object), else its ``request.type`` or ``*`` entry, else its first validation error."""
    entry = next((e for e in contract.data["errors"] if rule != "request.type" and rule in e.get("rules", ())), None)
    native = NativeError(entry["http_status"], entry["code"], entry["message"]) if entry else None
    native = native or contract.native_error("request.type") or contract.native_error("*")
    if native is None:
        entry = next((e for e in contract.data["errors"] if e["kind"] == "validation"), None)
        native = NativeError(entry["http_status"], entry["code"], entry["message"]) if entry else None
    return Violation("$", rule, message, native=native)
