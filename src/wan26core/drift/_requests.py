"""What ``wan26 contracts record`` sends: the cheapest valid request and a refusal the provider documents.

Pure functions of a contract, no I/O. The cheapest request takes the smallest resolution and duration,
audio off and one reference (or first frame): by default the first sample the contract's own request
examples use, since those are files the provider can fetch. The refusal is the request without its
prompt (else without any reference) when the errors catalogue names the validation error it provokes,
so recording it costs nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from wan26core._contract import Contract
from wan26core._errors import Wan26Error
from wan26core._rules.references import get_path
from wan26core._rules.request import GenerationRequest, Reference, infer_kind
from wan26core._rules.validation import validate

__all__ = ["Refusal", "cheapest_request", "documented_media", "option_rank", "refusal_for"]

_MEDIA_EXT = re.compile(r"\.(mp4|mov|png|jpe?g|webp|bmp)$", re.IGNORECASE)
_PLACEHOLDER_HOST = re.compile(r"(^|\.)(example\.(com|org|net)|[a-z0-9-]+\.(example|invalid|test)|localhost)$", re.IGNORECASE)


@dataclass(frozen=True)
class Refusal:
    """An invalid request the contract's catalogue says the provider refuses, and the answer expected."""

    what: str
    body: dict[str, Any]
    http_status: int | None
    code: str


def cheapest_request(
    contract: Contract, *, references: Sequence[str] = (), image: str | None = None, need_media: bool = True
) -> GenerationRequest:
    """The cheapest valid request: the smallest resolution and duration, audio off, one reference (or first frame).

    Media default to the first sample the contract's own request examples use (the provider's hosted
    files); a contract whose examples only show placeholder hosts needs ``references``/``image``.
    """
    options: dict[str, Any] = {}
    for option in ("resolution", "duration"):
        if contract.supports(option) and contract.option(option).get("values"):
            options[option] = min(contract.option(option)["values"], key=option_rank)
    if contract.supports("generate_audio"):
        options["generate_audio"] = False
    if contract.task == "r2v":
        if image:
            raise Wan26Error(f"{contract.id} takes references, not a first frame: use --ref URL instead of --image")
        sources = list(references) or documented_media(contract)[:1]
    else:
        if references:
            raise Wan26Error(f"{contract.id} takes a first frame, not references: use --image URL instead of --ref")
        sources = [image] if image else documented_media(contract, "image")[:1]
    if not sources:
        if need_media:
            flag = "--ref URL" if contract.task == "r2v" else "--image URL"
            raise Wan26Error(f"{contract.id}'s examples show no sample media the provider can fetch: pass {flag}")
        sources = ["https://media.invalid/reference.mp4" if contract.task == "r2v" else "https://media.invalid/frame.png"]
    if contract.task != "r2v":
        return GenerationRequest(prompt="the scene slowly comes to life", image=sources[0], **options)
    refs = tuple(Reference(f"ref{i}", source) for i, source in enumerate(sources, start=1))
    return GenerationRequest(prompt="@ref1 walks slowly by a quiet lake at dawn", references=refs, **options)


def documented_media(contract: Contract, kind: str | None = None) -> list[str]:
    """The https media URLs of the contract's request examples, in order, placeholder hosts left out."""
    found: list[str] = []
    for example in contract.examples("request"):
        for value in _strings(example["body"]):
            parts = urlsplit(value)
            if parts.scheme != "https" or not _MEDIA_EXT.search(parts.path) or _PLACEHOLDER_HOST.search(parts.hostname or ""):
                continue
            if (kind is None or infer_kind(value) == kind) and value not in found:
                found.append(value)
    return found


def refusal_for(contract: Contract, body: Mapping[str, Any], request: GenerationRequest) -> Refusal | None:
    """The cheapest refusal the catalogue documents and the contract's rules confirm: the request without its
    prompt, else without its first frame, else without references."""
    candidates: list[tuple[str, str, Callable[[dict[str, Any]], bool]]] = [
        ("prompt.required", "a request without its prompt", lambda b: _drop(b, contract.wire_fields["prompt"])),
    ]
    drop_first_frame = _first_frame_dropper(contract) if request.image is not None else None
    if drop_first_frame is not None:
        # Wan 2.6 requires the first frame; Wan 2.7 a first frame or a clip, a conditional limit of its own name
        for rule in ("first_frame.required", "source.first_frame_or_clip"):
            candidates.append((rule, "a request without its first frame", drop_first_frame))
    if request.references:
        sources = {r.source for r in request.references}
        candidates.append(("references.total", "a request without any reference", lambda b: _empty_lists(b, sources)))
    for rule, what, change in candidates:
        native = contract.native_error(rule)
        entry = contract.error(native.code) if native is not None else None
        if native is None or entry is None or entry["kind"] not in ("validation", "unsupported_option"):  # refused, unpaid
            continue
        broken = json.loads(json.dumps(body))
        if change(broken) and _refused(rule, request, contract):
            return Refusal(what, broken, native.http_status, native.code)
    return None


def _refused(rule: str, request: GenerationRequest, contract: Contract) -> bool:
    """True only when the contract's own rules refuse the changed request: one the provider would accept costs
    money (DashScope's image-to-video takes a request without a prompt)."""
    variants = {
        "prompt.required": replace(request, prompt=""),
        "first_frame.required": replace(request, image=None),
        "source.first_frame_or_clip": replace(request, image=None),
        "references.total": replace(request, references=()),
    }
    changed = variants[rule]
    return any(v.severity == "error" and v.rule.startswith(rule) for v in validate(changed, contract))


def _first_frame_dropper(contract: Contract) -> Callable[[dict[str, Any]], bool] | None:
    """How to take the first frame out of a wire body: its field, or its item of the media array."""
    if "first_frame" in contract.wire_fields:
        return lambda b: _drop(b, contract.wire_fields["first_frame"])
    media = contract.media
    if "first_frame" not in media.get("types", {}):
        return None

    def drop_item(body: dict[str, Any]) -> bool:
        items = get_path(body, media["wire"])
        kept = [i for i in items or [] if not (isinstance(i, dict) and i.get("type") == media["types"]["first_frame"])]
        if not isinstance(items, list) or len(kept) == len(items):
            return False
        items[:] = kept
        return True

    return drop_item


def _drop(body: dict[str, Any], dotted: str) -> bool:
    *parents, last = dotted.split(".")
    node = get_path(body, ".".join(parents)) if parents else body
    if isinstance(node, dict) and last in node:
        del node[last]
        return True
    return False


def _empty_lists(node: Any, sources: set[str]) -> bool:
    """Empty every list that holds only reference sources; True when one was found."""
    changed = False
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, list) and value and all(v in sources for v in value):
                node[key] = []
                changed = True
            else:
                changed = _empty_lists(value, sources) or changed
    return changed


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def option_rank(value: Any) -> float:
    """Order option values by size and so by cost: 480p < 720p < 1080p, 2 < 5 < 10."""
    try:
        return float(str(value).rstrip("pP"))
    except ValueError:
        return float("inf")
