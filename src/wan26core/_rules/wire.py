"""The inverse of rendering: read a provider's wire body back into a canonical request.

The mock server uses it to check what a client sent against the same contract rules the client uses.
References come back named ``ref1``, ``ref2`` … in the endpoint's numbering, so the provider's own
tokens in the prompt (``Character1``, ``character2``, ``@Video1``) keep pointing at the same files.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from wan26core._contract import Contract
from wan26core._errors import ValidationError, Violation
from wan26core._rules.references import get_path
from wan26core._rules.request import MEDIA_SLOTS, GenerationRequest, Reference, infer_kind
from wan26core._rules.sources import provider_side
from wan26core._rules.validation import OPTION_FIELDS, json_key, validate
from wan26core._rules.wire_schema import WireProblem, read_wire_stages, wire_native, wire_validation

__all__ = ["check_wire", "parse_wire", "wire_violation"]

#: what a source no provider can fetch is read as: a URL that names no host of anyone's and no file
_UNFETCHABLE = "https://unfetchable.invalid/source"

#: Rules that only wan26 applies (naming and binding); a provider does not check them.
_WAN26_ONLY = ("references.name", "references.unknown", "references.unused", "prompt.literal_token", "source.")


def parse_wire(body: Any, contract: Contract) -> GenerationRequest:
    """A canonical request equivalent to ``body``; :class:`ValidationError` when the provider would refuse its shape.

    The body first goes through the provider's own schema check (:mod:`wan26core._rules.wire_schema`: types, enums,
    ranges, required fields, the provider's coercions and extra-field policy); then every media source must be
    a URL or a data URI, as a provider can fetch nothing else (a host path is never opened).
    """
    request, sources, _ = _read(body, contract)
    if sources:
        raise ValidationError(sources, provider=contract.id)
    return request


def check_wire(body: Any, contract: Contract) -> tuple[GenerationRequest | None, list[Violation]]:
    """Read ``body`` once and say what the provider itself would refuse, each violation with its native error.

    In the order a provider's server finds them: the body's shape (types, required fields: the provider's generic
    answer); then the contract's rules, each with its catalogued error, or the generic answer where the catalogue
    has none (a documented limit is refused even when no page shows its error); then the schema's remaining limits.
    """
    try:
        request, sources, limits = _read(body, contract)
    except ValidationError as exc:
        return None, exc.violations
    with provider_side():  # the client's pre-flight source rules are not the provider's
        provider_rules = {rule["rule"] for rule in contract.conditional_limits}  # whatever their names
        found = [
            v
            for v in validate(request, contract)
            if v.severity == "error" and (v.rule in provider_rules or not v.rule.startswith(_WAN26_ONLY))
        ]
    refused = sources + [v if v.native is not None else _generic(v, contract, body) for v in found]
    if not refused:
        refused = [wire_violation(p, contract) for p in limits]
    return (request if not refused else None), refused


def _read(body: Any, contract: Contract) -> tuple[GenerationRequest, list[Violation], list[WireProblem]]:
    """The canonical request, the media sources no provider can fetch (those read as a placeholder URL, so nothing
    looks at a host path) and the schema's limits still to answer; :class:`ValidationError` when the body's shape
    is wrong. The body is read against the schema once."""
    if not isinstance(body, dict):
        raise ValidationError([_shape("$", "the body must be a JSON object", contract)], provider=contract.id)
    coerced, shape, limits = read_wire_stages(body, contract)
    if shape:
        raise ValidationError([wire_violation(p, contract) for p in shape], provider=contract.id)
    request, sources = _canonical(coerced, contract)
    return request, sources, limits


def _generic(violation: Violation, contract: Contract, body: Any) -> Violation:
    """A contract rule with no catalogued error of its own: the provider's generic refusal, at the wire field."""
    from wan26core._dialect import wire_path

    where = wire_path(violation, contract, body)
    kind, message = violation.rule, violation.message
    if wire_validation(contract).get("wording") == "pydantic":  # a model rule fails as pydantic's value_error
        kind, message = "value_error", f"Value error, {message}"
    problem = WireProblem(tuple(where.split(".")) if where != "body" else (), kind, message, violation.value)
    return Violation(
        violation.field, violation.rule, violation.message, violation.limit, violation.value, wire_native(problem, contract)
    )


def wire_violation(problem: WireProblem, contract: Contract) -> Violation:
    """A schema problem as a violation: ``field`` is its dotted wire path, ``rule`` ``wire.<kind>``, ``value`` the
    echoable offending value and ``limit`` the problem's context (pydantic's ``ctx``)."""
    return Violation(
        problem.parameter,
        f"wire.{problem.kind}",
        f"{problem.parameter}: {problem.message}",
        limit=dict(problem.ctx) if problem.ctx else None,
        value=problem.echo(),
        native=wire_native(problem, contract),
    )


def _canonical(body: dict[str, Any], contract: Contract) -> tuple[GenerationRequest, list[Violation]]:
    problems: list[Violation] = []
    sources: list[Violation] = []
    fields = contract.wire_fields
    prompt = get_path(body, fields["prompt"])
    if prompt is None and contract.limits["prompt"].get("required", True):
        problems.append(_shape(fields["prompt"], "the prompt is required", contract, rule="prompt.required"))
    elif prompt is not None and not isinstance(prompt, str):
        problems.append(_shape(fields["prompt"], "the prompt must be a string", contract))
    references: list[Reference] = []
    spec = contract.references
    slots: dict[str, Any] = {}
    if contract.media:
        references, slots = _read_media(body, contract, problems, sources)
    elif spec is not None:
        wire = spec["wire"]
        lists = [("mixed", wire["mixed"])] if "mixed" in wire else [(k, wire[k]) for k in ("video", "image") if k in wire]
        for kind, path in lists:
            items = get_path(body, path)
            if items is None:
                continue
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                problems.append(_shape(path, "must be a list of URL strings", contract))
                continue
            for source in items:
                guessed = infer_kind(source) if kind == "mixed" else kind
                if not _fetchable(source):
                    sources.append(_not_a_url(f"references[{len(references)}]", "references.source", source, contract))
                    source = _UNFETCHABLE
                references.append(Reference(f"ref{len(references) + 1}", source, guessed or "image"))  # type: ignore[arg-type]
    for slot, attr in ((s, a) for s, a in MEDIA_SLOTS.items() if s != "audio"):  # audio: its option (or the media array)
        value = get_path(body, fields[slot]) if slot in fields else slots.get(slot)
        if isinstance(value, str) and not _fetchable(value):
            sources.append(_not_a_url(attr, f"{slot}.source", value, contract))
            value = _UNFETCHABLE
        slots[attr] = value
    audio_wire = contract.options.get("audio_url", {}).get("wire")
    audio = get_path(body, audio_wire) if audio_wire else None
    if isinstance(audio, str) and not _fetchable(audio):
        sources.append(_not_a_url("audio", "audio.source", audio, contract))
    kwargs: dict[str, Any] = {}
    for name, attr in OPTION_FIELDS.items():
        option = contract.option(name)
        if not option.get("wire"):
            continue
        value = get_path(body, option["wire"])
        if value is None:
            continue
        reverse = {json_key(v): k for k, v in option.get("wire_values", {}).items()}
        canonical: Any = reverse.get(json_key(value), value)
        if isinstance(canonical, str) and name in ("duration", "seed") and canonical.lstrip("-").isdigit():
            canonical = int(canonical)
        elif isinstance(canonical, float) and name in ("duration", "seed") and canonical.is_integer():
            canonical = int(canonical)  # JSON has one number type: 5.0 is the integer 5 (as the wire schema check says)
        kwargs[attr] = _UNFETCHABLE if attr == "audio" and sources and sources[-1].rule == "audio.source" else canonical
    table = contract.options.get("size_table")
    if table:
        size = get_path(body, table["wire"])
        if size is not None:
            match = [(tier, ratio) for tier, ratios in table["tiers"].items() for ratio, s in ratios.items() if s == size]
            if match:
                kwargs["resolution"], kwargs["aspect_ratio"] = match[0]
            else:
                problems.append(
                    _shape(table["wire"], f"size {size!r} is not a documented W*H size", contract, rule="option.values")
                )
    if problems:
        raise ValidationError(problems, provider=contract.id)
    try:
        if slots.get("audio") is not None:
            kwargs["audio"] = slots["audio"]
        media = {attr: slots[attr] for attr in ("image", "last_frame", "clip")}
        return GenerationRequest(prompt=prompt or "", references=tuple(references), **media, **kwargs), sources
    except TypeError as exc:  # pragma: no cover - kwargs are all known fields
        raise ValidationError([_shape("$", str(exc), contract)], provider=contract.id) from exc


def _read_media(
    body: dict[str, Any], contract: Contract, problems: list[Violation], sources: list[Violation]
) -> tuple[list[Reference], dict[str, Any]]:
    """Wan 2.7's media array read back: references (``ref1`` … in media order, with their voice samples) and the
    other slots by name (``first_frame``, ``last_frame``, ``clip``, ``audio``)."""
    media = contract.media
    slot_of = {item_type: slot for slot, item_type in media["types"].items()}
    voice_key = media.get("voice")
    items = get_path(body, media["wire"])
    references: list[Reference] = []
    slots: dict[str, Any] = {}
    if items is None:
        return references, slots
    if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("url"), str) for i in items):
        problems.append(_shape(media["wire"], "must be a list of {type, url} objects", contract))
        return references, slots
    for item in items:
        slot = slot_of.get(item["type"]) if isinstance(item.get("type"), str) else None
        url = item["url"]
        if slot is None:
            problems.append(_shape(media["wire"], f"unknown media type {item.get('type')!r}", contract))
            continue
        field = f"references[{len(references)}]" if slot in ("image", "video") else MEDIA_SLOTS[slot]
        if not _fetchable(url):
            sources.append(_not_a_url(field, f"{slot}.source", url, contract))
            url = _UNFETCHABLE
        if slot not in ("image", "video"):
            if voice_key and voice_key in item:
                problems.append(_shape(media["wire"], f"{voice_key} belongs to a reference item, not {item['type']!r}", contract))
            if slot in slots:
                problems.append(_shape(media["wire"], f"more than one {item['type']!r} item", contract))
            slots[slot] = url
            continue
        voice = item.get(voice_key) if voice_key else None
        if voice is not None and (not isinstance(voice, str) or not _fetchable(voice)):
            sources.append(_not_a_url(f"{field}.voice", "references.voice.source", str(voice)[:200], contract))
            voice = _UNFETCHABLE
        references.append(Reference(f"ref{len(references) + 1}", url, slot, voice=voice))
    return references, slots


def _fetchable(source: str) -> bool:
    """What a provider can fetch: an http(s) URL with a host, or a base64 data URI. Never a path on a host."""
    head = source[:16].lower()
    if head.startswith("data:"):
        return True
    if not head.startswith(("http://", "https://")):
        return False
    try:
        return bool(urlsplit(source).netloc)
    except ValueError:
        return False


def _not_a_url(field: str, rule: str, source: str, contract: Contract) -> Violation:
    shown = source if len(source) <= 200 else source[:200] + "…"
    return Violation(
        field,
        rule,
        f"{shown!r} is not a URL the provider can fetch (http(s) or a data URI)",
        value=shown,
        native=contract.native_error(rule, field=field, value=shown) or contract.native_error("*", field=field),
    )


def _shape(path: str, message: str, contract: Contract, rule: str = "request.type") -> Violation:
    native = contract.native_error(rule, field=path) or contract.native_error("*", field=path)
    return Violation(path, rule, message, native=native)
