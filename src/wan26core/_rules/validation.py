"""Validation of a canonical request against an endpoint's contract: every violation at once.

Pure and offline: sources are checked for syntax (and, for local files, existence and size). Media
content is probed only when ``probe=True`` (the ``[media]`` extra).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wan26core._contract import Contract
from wan26core._errors import UnsupportedOptionError, ValidationError, Violation
from wan26core._rules.conditions import check_conditions
from wan26core._rules.references import Binding, bind_references
from wan26core._rules.request import MEDIA_SLOTS, GenerationRequest, Reference, source_type
from wan26core._rules.slots import check_slots
from wan26core._rules.sources import check_source, client_rules, sniff, trusted_sources

__all__ = ["OPTION_FIELDS", "Report", "check", "json_key", "sniff", "trusted_sources", "validate", "wire_value"]

#: canonical option name -> attribute of :class:`GenerationRequest`
OPTION_FIELDS: dict[str, str] = {
    "resolution": "resolution",
    "aspect_ratio": "aspect_ratio",
    "duration": "duration",
    "shot_type": "shot_type",
    "prompt_expansion": "prompt_expansion",
    "generate_audio": "generate_audio",
    "seed": "seed",
    "safety_checker": "safety_checker",
    "watermark": "watermark",
    "negative_prompt": "negative_prompt",
    "audio_url": "audio",
}
_TYPES: dict[str, tuple[type, ...]] = {
    "resolution": (str,),
    "aspect_ratio": (str,),
    "shot_type": (str,),
    "negative_prompt": (str,),
    "audio_url": (str,),
    "duration": (int,),
    "seed": (int,),
    "prompt_expansion": (bool,),
    "generate_audio": (bool,),
    "safety_checker": (bool,),
    "watermark": (bool,),
}
#: prompts longer than this (or 50 times the endpoint's limit) are refused without binding their references
PROMPT_CEILING = 64 * 1024


@dataclass
class Report:
    """What validation found: blocking ``errors``, advisory ``warnings`` and the reference binding."""

    errors: list[Violation] = field(default_factory=list)
    warnings: list[Violation] = field(default_factory=list)
    binding: Binding | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def validate(request: GenerationRequest, contract: Contract, *, probe: bool = False) -> list[Violation]:
    """Every violation of ``contract`` by ``request`` (errors, then warnings); empty when it is valid."""
    report = _report(request, contract, probe=probe)
    return report.errors + report.warnings


def check(request: GenerationRequest, contract: Contract, *, probe: bool = False) -> Report:
    """Validate and raise one :class:`ValidationError` carrying every blocking violation."""
    report = _report(request, contract, probe=probe)
    if report.errors:
        if all(v.rule == "option.unsupported" for v in report.errors):
            raise UnsupportedOptionError(report.errors, provider=contract.id)
        raise ValidationError(report.errors, provider=contract.id)
    return report


def wire_value(option: dict[str, Any], value: Any) -> Any:
    """The wire spelling of a canonical option value (``5`` -> ``"5"`` on fal, ``multi`` -> ``true``)."""
    return option.get("wire_values", {}).get(json_key(value), value)


def json_key(value: Any) -> str:
    """The string key a contract's ``wire_values`` map uses for a value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _report(request: GenerationRequest, contract: Contract, *, probe: bool) -> Report:
    report = Report()
    out = report.errors

    def add(path: str, rule: str, message: str, *, limit: Any = None, value: Any = None, severity: str = "error") -> None:
        v = Violation(
            path,
            rule,
            message,
            limit=limit,
            value=_short(value),
            native=contract.native_error(rule, field=path, limit=limit, value=_short(value)),
            severity=severity,
        )
        (report.errors if severity == "error" else report.warnings).append(v)

    def too_long(field: str, what: str, length: int, limit: int, *, where: str = "", then: str = "") -> None:
        add(
            field,
            f"{field}.max_length",
            f"{what} is {length} characters{where}; the limit is {limit}{then}",
            limit=limit,
            value=length,
        )

    untyped: Any = request
    if not isinstance(untyped, GenerationRequest):
        add("$", "request.type", f"expected a GenerationRequest, got {type(untyped).__name__}")
        return report
    typed_ok = _check_types(request, add)
    if not typed_ok:
        return report

    limits = contract.limits
    prompt_limit = limits["prompt"]
    ceiling = max(PROMPT_CEILING, 50 * prompt_limit["max_length"])
    huge = len(request.prompt) > ceiling
    if huge:  # far past any limit: not worth binding a million tokens to say so
        then = f" (and no rendering of references shortens a prompt past {ceiling} characters that much)"
        too_long("prompt", "the prompt", len(request.prompt), prompt_limit["max_length"], then=then)
        binding = Binding(prompt=request.prompt)
    else:
        binding = bind_references(request, contract)
        out.extend(binding.violations)
    report.binding = binding

    # prompt ---------------------------------------------------------------------------------------
    if huge:
        pass  # said above
    elif not request.prompt.strip() and prompt_limit.get("required", True):  # DashScope's i2v takes none
        add("prompt", "prompt.required", "the prompt is empty", value=request.prompt)
    elif len(binding.prompt) > prompt_limit["max_length"]:
        extra = "" if binding.prompt == request.prompt else " after references are rendered"
        truncates = " (the provider would silently truncate it)" if prompt_limit.get("on_excess") == "truncate" else ""
        too_long("prompt", "the prompt", len(binding.prompt), prompt_limit["max_length"], where=extra, then=truncates)
    negative_limit = limits.get("negative_prompt")
    if request.negative_prompt and negative_limit and len(request.negative_prompt) > negative_limit["max_length"]:
        too_long("negative_prompt", "the negative prompt", len(request.negative_prompt), negative_limit["max_length"])

    # references -----------------------------------------------------------------------------------
    counts = limits.get("references") or {
        "video": {"min": 0, "max": 0},
        "image": {"min": 0, "max": 0},
        "total": {"min": 0, "max": 0},
    }
    kinds = [r.resolved_kind for r in request.references]
    observed = {"video": kinds.count("video"), "image": kinds.count("image"), "total": len(kinds)}
    for key in ("video", "image", "total"):
        bound, n = counts[key], observed[key]
        noun = {"video": "video references", "image": "image references", "total": "references in total"}[key]
        if n > bound["max"]:
            text = f"this endpoint takes no {noun}" if bound["max"] == 0 else f"{n} {noun}; at most {bound['max']} allowed"
            add("references", f"references.{key}.max", text, limit=bound["max"], value=n)
        elif n < bound["min"]:
            add(
                "references",
                f"references.{key}.min",
                f"{n} {noun}; at least {bound['min']} required",
                limit=bound["min"],
                value=n,
            )
    for i, ref in enumerate(request.references):
        kind = ref.resolved_kind
        if kind is None:  # the kind is reported by the binding; what is wrong with the source itself is said too
            check_source(ref.source, None, "reference", f"references[{i}].source", "references.source", probe, add)
            continue
        prefix = "reference_video" if kind == "video" else "reference_image"
        check_source(ref.source, limits.get(prefix), prefix, f"references[{i}].source", "references.source", probe, add)

    # first frame, last frame, clip, voices and audio ------------------------------------------------
    check_slots(request, contract, probe, add)
    if request.audio is not None and contract.supports("audio_url"):
        check_source(request.audio, limits.get("audio"), "audio", "audio", "audio.source", probe, add)
    if client_rules() and "upload" not in contract.transport["routes"]:  # what submit would refuse, said now
        sources = [(f"references[{i}].source", r.source) for i, r in enumerate(request.references)]
        sources += [(f"references[{i}].voice", r.voice) for i, r in enumerate(request.references) if r.voice]
        sources += [(attr, getattr(request, attr)) for attr in MEDIA_SLOTS.values() if getattr(request, attr)]
        for path, source in sources:
            if isinstance(source, str) and source.strip() and source_type(source) == "path":
                add(
                    path,
                    "source.local_file",
                    f"{os.path.basename(source)!r} is a local file and {contract.id} documents no upload: put it where the"
                    " provider can download it (your storage bucket, a CDN) and pass its https URL",
                    value=source,
                )

    # options --------------------------------------------------------------------------------------
    for name, attr in OPTION_FIELDS.items():
        value = getattr(request, attr)
        if value is None:
            continue
        option = contract.option(name)
        if not option["supported"]:
            add(attr, "option.unsupported", f"{contract.id} has no {name} option; remove it", value=value)
        elif "values" in option and value not in option["values"]:
            add(attr, "option.values", f"{value!r} is not one of {option['values']}", limit=option["values"], value=value)
    if request.seed is not None and contract.supports("seed"):
        seed = limits["seed"]
        if not seed["min"] <= request.seed <= seed["max"]:
            add(
                "seed",
                "seed.range",
                f"seed must be within {seed['min']}..{seed['max']}",
                limit=[seed["min"], seed["max"]],
                value=request.seed,
            )
    table = contract.size_table
    if table and (request.resolution or request.aspect_ratio):
        tier = request.resolution or contract.default("resolution")
        ratio = request.aspect_ratio or contract.default("aspect_ratio")
        if tier in table and ratio not in table[tier]:
            add(
                "aspect_ratio",
                "option.values",
                f"no {tier} size is documented for {ratio}",
                limit=sorted(table[tier]),
                value=ratio,
            )

    check_conditions(request, contract, add)

    # advice ---------------------------------------------------------------------------------------
    expansion = request.prompt_expansion if request.prompt_expansion is not None else contract.default("prompt_expansion")
    if request.shot_type is not None and contract.supports("shot_type") and expansion is False:
        add(
            "shot_type",
            "shot_type.needs_prompt_expansion",
            "shot_type only takes effect when prompt_expansion is on; the provider will ignore it",
            severity="warning",
            value=request.shot_type,
        )
    return report


def _check_types(request: GenerationRequest, add: Callable[..., None]) -> bool:
    ok = True
    prompt: Any = request.prompt
    if not isinstance(prompt, str):
        add("prompt", "prompt.required", "the prompt must be a string", value=prompt)
        ok = False
    for name, attr in OPTION_FIELDS.items():
        value = getattr(request, attr)
        types = _TYPES[name]
        if value is not None and (not isinstance(value, types) or (bool not in types and isinstance(value, bool))):
            add(attr, "request.type", f"{attr} must be {' or '.join(t.__name__ for t in types)}", value=value)
            ok = False
    for name in ("image", "last_frame", "clip"):
        source: Any = getattr(request, name)
        if source is not None and not isinstance(source, str):
            add(name, "request.type", f"{name} must be a string (URL, data URI or local path)", value=source)
            ok = False
    for i, item in enumerate(request.references):
        ref: Any = item
        if not (
            isinstance(ref, Reference)
            and isinstance(ref.name, str)
            and isinstance(ref.source, str)
            and ref.kind in (None, "video", "image")
            and (ref.voice is None or isinstance(ref.voice, str))
        ):
            text = "a reference has a str name, a str source, kind video|image and an optional str voice"
            add(f"references[{i}]", "request.type", text, value=ref)
            ok = False
    return ok


def _short(value: Any, limit: int = 120) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - 1] + "…"
    return value
