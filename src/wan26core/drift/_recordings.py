"""Recordings: exchanges with a provider endpoint, stored as data next to the contracts.

A recording file (``contracts/recordings/<provider>/<model>/<name>.json``, schema
``contracts/schema/recording.schema.json``) lists exchanges ``{action, request, response, note, source,
recorded_at, origin}``. Seed recordings are built here from the documented examples and error bodies of a
contract (``wan26 contracts seed``); live ones come from ``wan26 contracts record`` and mock ones from
``wan26 contracts verify-mock --save``. Everything written goes through :func:`scrub` first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wan26core._contract import Contract, packaged_schema, schema_problems
from wan26core._redaction import MASK, redact, redact_headers

if TYPE_CHECKING:  # importlib.resources.abc is Python 3.11+
    from importlib.abc import Traversable

__all__ = [
    "ACTIONS",
    "RECORDING_VERSION",
    "SEED_NAMES",
    "LoadedRecording",
    "default_recordings_dir",
    "dump_recording",
    "exchange_key",
    "load_recordings",
    "recording_problems",
    "recording_schema",
    "route_request",
    "scrub",
    "scrub_headers",
    "seed_recordings",
    "split_route",
]

RECORDING_VERSION = 1
ACTIONS = ("submit", "status", "stream", "result", "cancel", "error", "webhook")
SEED_NAMES = ("seed-examples", "seed-errors")
REDACTED = MASK
_PACKAGE = "wan26_contracts"
_KIND_ACTION = {
    "request": "submit",
    "submit_response": "submit",
    "status_response": "status",
    "result_response": "result",
    "cancel_response": "cancel",
    "error_response": "error",
    "webhook": "webhook",
    "stream_event": "stream",
}


# --- the format -------------------------------------------------------------------------------------


def recording_schema() -> dict[str, Any]:
    """The JSON Schema every recording file satisfies (``contracts/schema/recording.schema.json``)."""
    return packaged_schema("recording")


def recording_problems(data: Any) -> list[str]:
    """Every way ``data`` fails the recording schema; empty when it is a sound recording."""
    return schema_problems(recording_schema(), data)


@dataclass(frozen=True)
class LoadedRecording:
    """One recording file as read: its data (None when unreadable) and what is wrong with it."""

    path: str  # relative to the recordings root, e.g. fal/r2v-flash/seed-examples.json
    data: dict[str, Any] | None
    problems: tuple[str, ...] = ()

    @property
    def contract(self) -> str | None:
        return str(self.data["contract"]) if self.data and isinstance(self.data.get("contract"), str) else None

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1].removesuffix(".json")

    def exchanges(self) -> list[dict[str, Any]]:
        return list(self.data.get("exchanges", [])) if self.data and not self.problems else []


def default_recordings_dir() -> Traversable:
    """The recordings shipped with wan26 (``wan26_contracts/recordings``)."""
    return resources.files(_PACKAGE).joinpath("recordings")


def load_recordings(root: Traversable | Path | str) -> list[LoadedRecording]:
    """Every ``<provider>/<model>/<name>.json`` under ``root``, sorted by path; a missing root holds none."""
    base: Traversable = Path(root) if isinstance(root, str) else root
    found: list[LoadedRecording] = []
    for relative, entry in sorted(_json_files(base), key=lambda item: item[0]):
        try:
            data = json.loads(entry.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            found.append(LoadedRecording(relative, None, (f"not readable as JSON: {exc}",)))
            continue
        problems = recording_problems(data)
        expected = "/".join(relative.split("/")[:2])
        if not problems and data["contract"] != expected:
            problems.append(f"contract: {data['contract']!r} recorded under {expected}/")
        found.append(LoadedRecording(relative, data if isinstance(data, dict) else None, tuple(problems)))
    return found


def _json_files(base: Traversable) -> Iterator[tuple[str, Traversable]]:
    if not base.is_dir():
        return
    for provider in base.iterdir():
        if not provider.is_dir():
            continue
        for model in provider.iterdir():
            if not model.is_dir():
                continue
            for entry in model.iterdir():
                if entry.is_file() and entry.name.endswith(".json"):
                    yield f"{provider.name}/{model.name}/{entry.name}", entry


def dump_recording(data: Mapping[str, Any]) -> str:
    """The text of a recording file: stable key order as given, two-space indent, UTF-8, final newline."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def exchange_key(exchange: Mapping[str, Any]) -> str:
    """What makes two exchanges the same observation (provenance fields left out)."""
    return json.dumps([exchange.get("action"), exchange.get("request"), exchange.get("response")], sort_keys=True)


# --- scrubbing --------------------------------------------------------------------------------------


def scrub_headers(headers: Mapping[str, str] | None) -> dict[str, str] | None:
    """Lower-case names; credentials replaced (``Authorization`` keeps its scheme word: ``Key REDACTED``)."""
    if headers is None:
        return None
    return redact_headers({name.lower(): value for name, value in headers.items()})


def scrub(value: Any) -> Any:
    """``value`` through the project's one redaction (:func:`wan26core._redaction.redact`)."""
    return redact(value)


# --- seeds from the contract ------------------------------------------------------------------------


def split_route(template: str) -> tuple[str, dict[str, str]]:
    """``/v2/x?generation_id={generation_id}`` -> (``/v2/x``, ``{"generation_id": "{generation_id}"}``)."""
    path, _, query = template.partition("?")
    params = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
    return path, params


def route_request(contract: Contract, action: str, body: Any = None) -> dict[str, Any] | None:
    """The request of ``action`` as the contract routes it (path parameters left as ``{name}``)."""
    route = contract.transport["routes"].get(action)
    if route is None:
        return None
    path, query = split_route(str(route["path"]))
    request: dict[str, Any] = {"method": str(route["method"]).upper(), "path": path, "query": query, "headers": None}
    if body is not None:
        request["body"] = body
    return request


def seed_recordings(contract: Contract) -> dict[str, dict[str, Any]]:
    """The seed recordings of one contract: ``seed-examples`` (its examples) and ``seed-errors`` (its error bodies)."""
    recorded_at = f"{contract.data['retrieved']}T00:00:00Z"
    header = {"$schema": "../../../schema/recording.schema.json", "recording_version": RECORDING_VERSION}
    examples = [_from_example(contract, e, recorded_at) for e in contract.data["examples"]]
    errors = [_from_error(e, recorded_at) for e in contract.data["errors"] if e.get("body") is not None]
    built = {
        "seed-examples": (examples, "the request and response examples"),
        "seed-errors": (errors, "the error bodies of the errors catalogue"),
    }
    return {
        name: {
            **header,
            "contract": contract.id,
            "name": name,
            "description": f"{what.capitalize()} of contracts/{contract.id}.json, one exchange each. Generated: edit the "
            "contract, then run `wan26 contracts seed`.",
            "generated_by": "wan26 contracts seed",
            "exchanges": exchanges,
        }
        for name, (exchanges, what) in built.items()
    }


def _origin(source: str) -> str:
    return "seed:" + (source if source.startswith(("http://", "https://")) else source.split("#", 1)[0])


def _from_example(contract: Contract, example: Mapping[str, Any], recorded_at: str) -> dict[str, Any]:
    kind = str(example["kind"])
    action = _KIND_ACTION[kind]
    body = scrub(example["body"])
    exchange: dict[str, Any] = {"action": action}
    if kind == "request":
        exchange["request"] = route_request(contract, "submit", body)
        exchange["response"] = None
    elif kind == "webhook":
        exchange["request"] = {"method": "POST", "path": "{webhook_url}", "query": {}, "headers": None, "body": body}
        exchange["response"] = None
    else:
        exchange["request"] = route_request(contract, action) if action != "error" else None
        headers = example.get("headers")
        exchange["response"] = {
            "status": example.get("http_status"),
            "headers": scrub_headers(headers) if headers else None,
            "body": body,
        }
    exchange["example"] = str(example["name"])
    if example.get("breaks"):
        exchange["breaks"] = list(example["breaks"])
    if example.get("note"):
        exchange["note"] = str(example["note"])
    exchange.update(source=str(example["source"]), recorded_at=recorded_at, origin=_origin(str(example["source"])))
    return exchange


def _from_error(entry: Mapping[str, Any], recorded_at: str) -> dict[str, Any]:
    where = "inside a status response (no HTTP status of its own)" if entry["http_status"] is None else ""
    note = f"errors catalogue: {entry['code']} — {entry['condition']}" + (f"; {where}" if where else "")
    return {
        "action": "error",
        "request": None,
        "response": {"status": entry["http_status"], "headers": None, "body": scrub(entry["body"])},
        "example": f"errors/{entry['code']}",
        "note": note,
        "source": str(entry["source"]),
        "recorded_at": recorded_at,
        "origin": _origin(str(entry["source"])),
    }
