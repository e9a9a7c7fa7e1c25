"""Rendering: a valid canonical request to an endpoint's exact wire body, driven by its contract."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from wan26core._contract import Contract
from wan26core._rules.references import set_path
from wan26core._rules.request import MEDIA_SLOTS, GenerationRequest, Reference, source_type
from wan26core._rules.validation import OPTION_FIELDS, check, wire_value

__all__ = ["WireRequest", "media_items", "render_body"]


@dataclass(frozen=True)
class WireRequest:
    """What would be sent: the submit route, the extra headers (never credentials) and the JSON body."""

    provider: str
    method: str
    url: str
    headers: dict[str, str]
    body: dict[str, Any]
    local_files: tuple[str, ...] = field(default=())  # sources still to upload before sending

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "provider": self.provider,
            "method": self.method,
            "url": self.url,
            "headers": self.headers,
            "body": self.body,
        }
        if self.local_files:
            out["local_files"] = list(self.local_files)
        return out


def render_body(request: GenerationRequest, contract: Contract, *, probe: bool = False) -> WireRequest:
    """Validate, then build the wire request from the contract's field map. Raises ``ValidationError``."""
    report = check(request, contract, probe=probe)
    assert report.binding is not None
    binding = report.binding
    body: dict[str, Any] = {}
    for path, value in contract.constants.items():
        set_path(body, path, copy.deepcopy(value))
    fields = contract.wire_fields
    set_path(body, fields["prompt"], binding.prompt)
    media = contract.media
    for path, sources in binding.wire.items():
        if sources and path != media.get("wire"):
            set_path(body, path, list(sources))
    if media:
        set_path(body, media["wire"], media_items(request, binding.numbered, contract))
    for slot, attr in MEDIA_SLOTS.items():
        if getattr(request, attr) is not None and slot in fields:
            set_path(body, fields[slot], getattr(request, attr))
    for name, attr in OPTION_FIELDS.items():
        value = getattr(request, attr)
        option = contract.option(name)
        if value is not None and option.get("wire"):
            set_path(body, option["wire"], wire_value(option, value))
    table = contract.options.get("size_table")
    if table and (request.resolution is not None or request.aspect_ratio is not None):
        tier = request.resolution or contract.default("resolution")
        ratio = request.aspect_ratio or contract.default("aspect_ratio")
        set_path(body, table["wire"], table["tiers"][tier][ratio])
    transport = contract.transport
    submit = transport["routes"]["submit"]
    sources = request.sources()
    return WireRequest(
        provider=contract.id,
        method=submit["method"],
        url=submit.get("host", transport["base_url"]) + submit["path"],
        headers=dict(transport.get("headers", {})),
        body=body,
        local_files=tuple(s for s in sources if source_type(s) == "path"),
    )


def media_items(request: GenerationRequest, references: list[Reference], contract: Contract) -> list[dict[str, str]]:
    """Wan 2.7's media array: the filled slots first (the first frame leads, as the dashscope SDK puts it), then
    the references in the endpoint's numbering, each ``{"type", "url"}`` plus its voice sample where it has one."""
    types, voice = contract.media["types"], contract.media.get("voice")
    items = [
        {"type": types[slot], "url": getattr(request, attr)}
        for slot, attr in MEDIA_SLOTS.items()
        if slot in types and getattr(request, attr) is not None
    ]
    for ref in references:
        item = {"type": types[str(ref.resolved_kind)], "url": ref.source}
        if voice and ref.voice is not None:
            item[voice] = ref.voice
        items.append(item)
    return items
