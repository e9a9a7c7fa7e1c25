"""Validation of a canonical request against an endpoint's contract: every violation at once.

Pure and offline: sources are checked for syntax (and, for local files, existence and size). Media
content is probed only when ``probe=True`` (the ``[media]`` extra).
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import os
import re
import socket
import stat
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .contract import Contract
from .errors import UnsupportedOptionError, ValidationError, Violation
from .references import Binding, bind_references
from .request import DATA_URI, GenerationRequest, Reference, source_format, source_type

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
#: base64 characters of a data URI decoded for the content sniff (about 3 KB of data)
_DATA_SNIFF_CHARS = 4096
_BASE64 = re.compile(r"[A-Za-z0-9+/\s]*={0,2}\s*")
#: prompts longer than this (or 50 times the endpoint's limit) are refused without binding their references
PROMPT_CEILING = 64 * 1024
_METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"})
#: cloud metadata services outside the link-local ranges: Alibaba Cloud (DashScope's home) and AWS over IPv6
_METADATA_ADDRESSES = frozenset({ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("fd00:ec2::254")})
_NUMERIC_HOST = re.compile(r"[0-9][0-9a-fx.]*")
#: URLs the provider's own storage issued for our uploads (plain http on a local mock): not the user's sources
_TRUSTED: ContextVar[frozenset[str]] = ContextVar("wan26_trusted_sources", default=frozenset())
#: the client's pre-flight rules for sources (https only, no link-local host, local files checked byte by byte);
#: off where a wire body is checked as the provider would (the mock), since providers take plain http too
_strict_sources: ContextVar[bool] = ContextVar("wan26_strict_sources", default=True)


@contextlib.contextmanager
def trusted_sources(urls: Iterable[str]) -> Iterator[None]:
    """Within the block, ``urls`` (issued by a provider's storage for our uploads) pass the source-scheme rules."""
    token = _TRUSTED.set(_TRUSTED.get() | frozenset(urls))
    try:
        yield
    finally:
        _TRUSTED.reset(token)


@contextlib.contextmanager
def provider_side() -> Iterator[None]:
    """Within the block, sources are judged as a provider judges a wire body: no client pre-flight rules."""
    token = _strict_sources.set(False)
    try:
        yield
    finally:
        _strict_sources.reset(token)


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
        add(
            "prompt",
            "prompt.max_length",
            f"the prompt is {len(request.prompt)} characters; the limit is {prompt_limit['max_length']} (and no rendering"
            f" of references shortens a prompt past {ceiling} characters that much)",
            limit=prompt_limit["max_length"],
            value=len(request.prompt),
        )
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
        add(
            "prompt",
            "prompt.max_length",
            f"the prompt is {len(binding.prompt)} characters{extra}; the limit is {prompt_limit['max_length']}{truncates}",
            limit=prompt_limit["max_length"],
            value=len(binding.prompt),
        )
    negative_limit = limits.get("negative_prompt")
    if request.negative_prompt and negative_limit and len(request.negative_prompt) > negative_limit["max_length"]:
        add(
            "negative_prompt",
            "negative_prompt.max_length",
            f"the negative prompt is {len(request.negative_prompt)} characters; the limit is {negative_limit['max_length']}",
            limit=negative_limit["max_length"],
            value=len(request.negative_prompt),
        )

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
            _check_source(ref.source, None, "reference", f"references[{i}].source", "references.source", probe, add)
            continue
        prefix = "reference_video" if kind == "video" else "reference_image"
        _check_source(ref.source, limits.get(prefix), prefix, f"references[{i}].source", "references.source", probe, add)

    # first frame and audio ------------------------------------------------------------------------
    if contract.task == "i2v":
        if request.image is None:
            add("image", "first_frame.required", "image-to-video needs a first-frame image")
        else:
            _check_source(request.image, limits.get("first_frame"), "first_frame", "image", "first_frame.source", probe, add)
    elif request.image is not None:
        add(
            "image",
            "option.unsupported",
            f"{contract.id} takes no first-frame image (use a named reference)",
            value=request.image,
        )
    if request.audio is not None and contract.supports("audio_url"):
        _check_source(request.audio, limits.get("audio"), "audio", "audio", "audio.source", probe, add)
    if _strict_sources.get() and "upload" not in contract.transport["routes"]:  # what submit would refuse, said now
        sources = [(f"references[{i}].source", r.source) for i, r in enumerate(request.references)]
        sources += [(name, value) for name, value in (("image", request.image), ("audio", request.audio)) if value]
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
    image: Any = request.image
    if image is not None and not isinstance(image, str):
        add("image", "request.type", "image must be a string (URL, data URI or local path)", value=image)
        ok = False
    for i, item in enumerate(request.references):
        ref: Any = item
        if not (
            isinstance(ref, Reference)
            and isinstance(ref.name, str)
            and isinstance(ref.source, str)
            and ref.kind in (None, "video", "image")
        ):
            add(f"references[{i}]", "request.type", "a reference has a str name, a str source and kind video|image", value=ref)
            ok = False
    return ok


def _check_source(
    source: str,
    limit: dict[str, Any] | None,
    prefix: str,
    path: str,
    source_rule: str,
    probe: bool,
    add: Callable[..., None],
) -> None:
    """Syntax, declared format and (for local files and data URIs) size; content when probing."""
    if not source.strip():
        add(path, source_rule, "the source is empty")
        return
    kind = source_type(source)
    declared = source_format(source)
    formats = limit["formats"] if limit else None
    if formats and declared and declared not in formats:
        add(
            path,
            f"{prefix}.format",
            f"format {declared} is not accepted; accepted: {', '.join(formats)}",
            limit=formats,
            value=declared,
        )
    max_bytes = limit.get("max_bytes") if limit else None
    declared_refused = bool(formats and declared and declared not in formats)  # one fault, one violation
    if kind == "url":
        try:
            parts = urlsplit(source)
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError:
            add(path, source_rule, "not a valid https URL", value=source)
            return
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            add(
                path,
                source_rule,
                f"unsupported URL scheme {parts.scheme!r}; use https, a data URI or a local file",
                value=source,
            )
        elif not parts.netloc or any(c.isspace() for c in source):
            add(path, source_rule, "not a valid https URL", value=source)
        elif source in _TRUSTED.get():
            return  # issued by the provider's own storage for an upload of ours
        elif _strict_sources.get() and scheme == "http":
            add(
                path, "source.scheme", "plain http is refused: a source is an https URL, a data URI or a local file", value=source
            )
        elif _strict_sources.get() and _internal_host(parts.hostname or ""):
            add(
                path,
                "source.host",
                f"{parts.hostname} is a link-local or metadata address, never a media host; refused",
                value=source,
            )
        elif probe and limit and not declared_refused:
            from .media import probe_url

            _check_media(probe_url(source, max_bytes), limit, prefix, path, add)
        return
    if kind == "data":
        match = DATA_URI.match(source[:256])
        if limit is not None and limit.get("data_uri") is False:
            add(path, f"{prefix}.data_uri", "this provider does not accept data URIs here; use a URL or a local file")
        if not match or not match.group("b64"):
            add(path, source_rule, "a data URI must look like data:<mime>;base64,<data>", value=source)
            return
        payload = source[match.end() :]
        if not _BASE64.fullmatch(payload):
            add(path, source_rule, "the data URI's payload is not base64", value=source)
            return
        size = len(payload.rstrip("=\n ")) * 3 // 4
        if max_bytes and size > max_bytes:
            add(path, f"{prefix}.max_bytes", f"{size} bytes; at most {max_bytes}", limit=max_bytes, value=size)
        elif _strict_sources.get() and not _data_content_ok(payload, formats, declared_refused, prefix, path, source_rule, add):
            return
        elif probe and limit and not declared_refused:
            from .media import probe_bytes

            _check_media(probe_bytes(source), limit, prefix, path, add)
        return
    if not _strict_sources.get():  # a path in a wire body: nothing the provider can fetch (and no file of the host's)
        add(path, source_rule, "not a URL: the provider cannot read a local path", value=source)
        return
    _check_local_file(source, limit, formats, max_bytes, prefix, path, source_rule, probe, declared_refused, add)


def _data_content_ok(
    payload: str,
    formats: list[str] | None,
    declared_refused: bool,
    prefix: str,
    path: str,
    source_rule: str,
    add: Callable[..., None],
) -> bool:
    """A data URI's bytes are what its MIME type claims, by the magic-byte sniff of local files (the first few KB
    only are decoded); False after reporting an empty payload or a content that is not accepted."""
    head_text = "".join(payload[:_DATA_SNIFF_CHARS].split())
    head = base64.b64decode(head_text[: len(head_text) // 4 * 4])
    if not head:
        add(path, source_rule, "the data URI holds no data", value=_short_source(payload))
        return False
    if declared_refused or not formats:
        return True
    content = sniff(head)
    if content in formats:
        return True
    accepted = ", ".join(formats)
    message = (
        f"the data URI's content is not a media file wan26 recognises; accepted: {accepted}"
        if content is None
        else f"the data URI's content is {content}, whatever its MIME type says; accepted: {accepted}"
    )
    add(path, f"{prefix}.format", message, limit=formats, value=content)
    return False


def _short_source(payload: str) -> str:
    return payload if len(payload) <= 40 else payload[:39] + "…"


def _check_local_file(
    source: str,
    limit: dict[str, Any] | None,
    formats: list[str] | None,
    max_bytes: int | None,
    prefix: str,
    path: str,
    source_rule: str,
    probe: bool,
    declared_refused: bool,
    add: Callable[..., None],
) -> None:
    """A local file: it exists, is a regular file, fits the size limit and its bytes are what the contract accepts."""
    try:
        info = os.stat(source)
    except FileNotFoundError:
        add(path, source_rule, "no such local file (a source is an https URL, a data URI or an existing file)", value=source)
        return
    except ValueError:  # a NUL byte: no file can have this name
        add(path, source_rule, "not a usable file name (it holds a NUL character)", value=source)
        return
    except OSError as exc:
        add(path, "source.unreadable", f"cannot read the local file: {exc.strerror or exc}", value=source)
        return
    if not stat.S_ISREG(info.st_mode):
        what = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file (a device, pipe or socket)"
        add(path, "source.not_file", f"the local source is {what}; give a media file", value=source)
        return
    size = info.st_size
    if max_bytes and size > max_bytes:
        add(path, f"{prefix}.max_bytes", f"{size} bytes; at most {max_bytes}", limit=max_bytes, value=size)
        return
    try:
        with open(source, "rb") as handle:
            head = handle.read(64)
    except OSError as exc:
        add(path, "source.unreadable", f"cannot read the local file: {exc.strerror or exc}", value=source)
        return
    if declared_refused or not formats:
        return
    content = sniff(head)
    if content is None:
        add(
            path,
            f"{prefix}.format",
            f"the file's content is not a media file wan26 recognises; accepted: {', '.join(formats)}",
            limit=formats,
            value=source,
        )
        return
    if content not in formats:
        add(
            path,
            f"{prefix}.format",
            f"the file's content is {content}, whatever its name says; accepted: {', '.join(formats)}",
            limit=formats,
            value=content,
        )
        return
    if probe and limit:
        from .media import probe_file

        _check_media(probe_file(source), limit, prefix, path, add)


def _internal_host(host: str) -> bool:
    """Link-local (169.254/16, fe80::/10), unspecified and cloud metadata addresses: never where media lives."""
    name = host.strip("[]").lower().rstrip(".")
    if name in _METADATA_HOSTS:
        return True
    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        if not _NUMERIC_HOST.fullmatch(name):
            return False
        try:  # the shorthand forms resolvers accept: 2852039166, 0xa9fea9fe, 0251.0376.0251.0376, 169.254.43518
            address = ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            address = embedded
    return address.is_link_local or address.is_unspecified or address in _METADATA_ADDRESSES


def sniff(head: bytes) -> str | None:
    """The media format of a file from its first bytes (the formats the contracts list, and a few look-alikes)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"BM") and len(head) >= 14:
        return "bmp"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return "mov"
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"avif"):
            return "heic"
        return "mp4"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    if head.startswith(b"ID3") or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06):
        return "mp3"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"fLaC"):
        return "flac"
    return None


def _check_media(info: Any, limit: dict[str, Any], prefix: str, path: str, add: Callable[..., None]) -> None:
    """Compare probed media facts (:class:`wan26core.media.MediaInfo`) with the contract's limits."""
    max_bytes = limit.get("max_bytes")
    if max_bytes and info.size > max_bytes:  # a download stopped past the limit
        add(path, f"{prefix}.max_bytes", f"more than {max_bytes} bytes", limit=max_bytes, value=info.size)
        return
    if info.format not in limit["formats"]:
        add(
            path,
            f"{prefix}.format",
            f"the content is {info.format}; accepted: {', '.join(limit['formats'])}",
            limit=limit["formats"],
            value=info.format,
        )
        return
    for axis in ("width", "height"):
        bound, value = limit.get(axis), getattr(info, axis)
        if bound and value is not None and not _within(value, bound):
            add(path, f"{prefix}.{axis}", f"{axis} {value}px is outside {_span(bound)} px", limit=bound, value=value)
    if limit.get("alpha") is False and info.alpha:
        add(path, f"{prefix}.alpha", "the image has an alpha channel (transparency), which is refused", value=True)
    for key, attr, unit in (("duration_s", "duration", "s"), ("fps", "fps", " fps")):
        bound, value = limit.get(key), getattr(info, attr)
        if bound and value is not None and not _within(value, bound):
            add(path, f"{prefix}.{key}", f"{value:g}{unit} is outside {_span(bound)}{unit}", limit=bound, value=value)


def _within(value: float, bound: dict[str, float]) -> bool:
    return bound.get("min", float("-inf")) <= value <= bound.get("max", float("inf"))


def _span(bound: dict[str, float]) -> str:
    return f"{bound.get('min', '-')}..{bound.get('max', '-')}"


def _short(value: Any, limit: int = 120) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - 1] + "…"
    return value
