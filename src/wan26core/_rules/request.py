"""The canonical, provider-agnostic request.

A :class:`GenerationRequest` says *what* to generate; the endpoint's contract decides whether it is
allowed and the provider plugin decides how it is spelled on the wire. ``None`` means "not set: let the
provider apply its default".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any, Literal, get_args

from wan26core._errors import ValidationError, Violation

__all__ = [
    "MEDIA_SLOTS",
    "AspectRatio",
    "GenerationRequest",
    "Reference",
    "ReferenceKind",
    "Resolution",
    "ShotType",
    "infer_kind",
    "parse_partial",
    "source_type",
]

ReferenceKind = Literal["video", "image"]
Resolution = Literal["480p", "720p", "1080p"]
AspectRatio = Literal["16:9", "9:16", "1:1", "4:3", "3:4"]
ShotType = Literal["single", "multi"]

NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
#: Names that would read as a native token (``video1``, ``Character2`` …) are reserved.
RESERVED_NAME = re.compile(r"(?i)(video|image|character)[0-9]+\Z")


def _same_name(*formats: str) -> dict[str, str]:
    """``{".png": "png", …}``: extensions that name their own format."""
    return {f".{f}": f for f in formats}


_VIDEO_EXT = _same_name("mp4", "mov", "webm", "avi", "mkv") | {".m4v": "mp4"}
_IMAGE_EXT = _same_name("jpeg", "png", "bmp", "webp", "gif", "tiff", "heic") | {".jpg": "jpeg", ".tif": "tiff"}
_AUDIO_EXT = _same_name("wav", "mp3", "aac", "m4a", "ogg", "flac")
#: MIME types whose subtype is not the format's name; any other ``kind/x`` is format ``x``
_MIME_FORMAT = {"video/quicktime": "mov", "image/jpg": "jpeg", "audio/x-wav": "wav", "audio/wave": "wav", "audio/mpeg": "mp3"}
DATA_URI = re.compile(r"data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(?:;[\w.+-]+=[\w.+-]+)*)(?P<b64>;base64)?,", re.I)


@dataclass(frozen=True)
class Reference:
    """A named reference: ``@name`` in the prompt refers to it. ``source`` is a URL, a data URI or a local path."""

    name: str
    source: str
    kind: ReferenceKind | None = None  # inferred from the source when not given
    voice: str | None = None  # a voice sample for this reference (Wan 2.7); a URL, data URI or local path

    @property
    def resolved_kind(self) -> ReferenceKind | None:
        return self.kind or infer_kind(self.source)


#: the media slots beside the references -> the request attribute that fills each, in media order (a start: a frame
#: or a clip; an end; audio)
MEDIA_SLOTS: dict[str, str] = {"first_frame": "image", "clip": "clip", "last_frame": "last_frame", "audio": "audio"}


@dataclass(frozen=True)
class GenerationRequest:
    """One video generation, reference-to-video or image-to-video, in provider-neutral terms."""

    prompt: str
    references: tuple[Reference, ...] = ()
    negative_prompt: str | None = None
    image: str | None = None  # first frame (image-to-video; beside the references on Wan 2.7 reference-to-video)
    last_frame: str | None = None  # last frame (Wan 2.7 image-to-video)
    clip: str | None = None  # a video clip to continue (Wan 2.7 image-to-video)
    audio: str | None = None  # driving/background audio URL
    resolution: Resolution | None = None
    aspect_ratio: AspectRatio | None = None
    duration: int | None = None
    shot_type: ShotType | None = None
    prompt_expansion: bool | None = None
    generate_audio: bool | None = None
    seed: int | None = None
    safety_checker: bool | None = None
    watermark: bool | None = None

    def __post_init__(self) -> None:
        references: Any = self.references
        if not isinstance(references, tuple):  # accept any iterable, store immutably
            object.__setattr__(self, "references", tuple(references))

    def replace(self, **changes: Any) -> GenerationRequest:
        return replace(self, **changes)

    def sources(self) -> list[str]:
        """Every media source: the references, their voice samples, then the slots (frames, clip, audio)."""
        found = [r.source for r in self.references] + [r.voice for r in self.references if r.voice is not None]
        return found + [value for attr in MEDIA_SLOTS.values() if (value := getattr(self, attr)) is not None]

    def map_sources(self, change: Callable[[str], str]) -> GenerationRequest:
        """This request with every source replaced by ``change(source)`` (an upload's URL, a digest); a reference
        keeps the kind its old source showed, which a new URL may not."""
        references = tuple(
            replace(r, source=change(r.source), kind=r.resolved_kind, voice=None if r.voice is None else change(r.voice))
            for r in self.references
        )
        slots = {attr: change(value) for attr in MEDIA_SLOTS.values() if (value := getattr(self, attr)) is not None}
        return self.replace(references=references, **slots)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form read by :meth:`from_dict` and the CLI; unset options are left out."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "references":
                out["references"] = [
                    {
                        k: v
                        for k, v in (("name", r.name), ("kind", r.kind), ("source", r.source), ("voice", r.voice))
                        if v is not None
                    }
                    for r in value
                ]
            elif value is not None:
                out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Any) -> GenerationRequest:
        """Build a request from JSON-like data; raises :class:`ValidationError` naming every bad field."""
        request, problems = parse_partial(data)
        if problems or request is None:
            raise ValidationError(problems)
        return request


# --- parsing untrusted JSON ------------------------------------------------------------------------

_BOOL_FIELDS = ("prompt_expansion", "generate_audio", "safety_checker", "watermark")
_STR_FIELDS = ("negative_prompt", "image", "last_frame", "clip", "audio")
_ENUM_FIELDS: dict[str, tuple[Any, ...]] = {
    "resolution": get_args(Resolution),
    "aspect_ratio": get_args(AspectRatio),
    "shot_type": get_args(ShotType),
}
_KNOWN = {f.name for f in fields(GenerationRequest)}


def parse_partial(data: Any) -> tuple[GenerationRequest | None, list[Violation]]:
    """The request made of every well-formed field of ``data`` (None when ``data`` is not an object), and the
    problems of the others: a caller can then validate what is there and report everything at once."""
    problems: list[Violation] = []

    def bad(path: str, rule: str, message: str, value: Any = None, limit: Any = None) -> None:
        problems.append(Violation(field=path, rule=rule, message=message, value=value, limit=limit))

    if not isinstance(data, dict):
        bad("$", "request.type", f"a request is a JSON object, got {type(data).__name__}", _short(data))
        return None, problems
    for key in data:
        if key not in _KNOWN:
            bad(str(key), "request.unknown_field", f"unknown field {key!r}; known fields: {', '.join(sorted(_KNOWN))}")
    kwargs: dict[str, Any] = {}
    prompt = data.get("prompt")
    if not isinstance(prompt, str):
        bad("prompt", "prompt.required", "prompt is required and must be a string", _short(prompt))
    else:
        kwargs["prompt"] = prompt
    for names, python_type, wanted in ((_STR_FIELDS, str, "a string"), (_BOOL_FIELDS, bool, "true or false")):
        for name in (n for n in names if data.get(n) is not None):
            if isinstance(data[name], python_type):
                kwargs[name] = data[name]
            else:
                bad(name, "request.type", f"{name} must be {wanted}", _short(data[name]))
    for name in ("prompt", *_STR_FIELDS):  # lone surrogates: bytes that were not UTF-8 (a shell's surrogateescape)
        if name in kwargs and not _is_text(kwargs[name]):
            shown = _short(kwargs.pop(name).encode("utf-8", "backslashreplace").decode("utf-8"))
            bad(name, "request.text", f"{name} must be valid Unicode text: it holds bytes that are not UTF-8", shown)
    for name in ("duration", "seed"):
        value = data.get(name)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int):
                if name == "duration" and isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 6:
                    kwargs[name] = int(value)  # fal spells durations as strings; accept "5"
                else:
                    bad(name, "request.type", f"{name} must be an integer", _short(value))
            else:
                kwargs[name] = value
    for name, allowed in _ENUM_FIELDS.items():
        value = data.get(name)
        if value is not None:
            if isinstance(value, str) and value.lower() in [a.lower() for a in allowed]:
                kwargs[name] = next(a for a in allowed if a.lower() == value.lower())
            else:
                bad(name, "option.values", f"{name} must be one of {', '.join(allowed)}", _short(value), list(allowed))
    refs = data.get("references", [])
    if refs is None:
        refs = []
    if isinstance(refs, dict):  # {"alice": "url"} or {"alice": {"source": ..., "kind": ...}}
        refs = [dict(v, name=k) if isinstance(v, dict) else {"name": k, "source": v} for k, v in refs.items()]
    if not isinstance(refs, list):
        bad("references", "request.type", "references must be a list of {name, source, kind}", _short(refs))
        refs = []
    parsed: list[Reference] = []
    for i, item in enumerate(refs):
        path = f"references[{i}]"
        if not isinstance(item, dict):
            bad(path, "request.type", "a reference is an object with name, source and optional kind", _short(item))
            continue
        extra = set(item) - {"name", "source", "kind", "voice"}
        if extra:
            bad(path, "request.unknown_field", f"unknown reference field(s): {', '.join(sorted(map(str, extra)))}")
        ref_name, source, kind = item.get("name"), item.get("source"), item.get("kind")
        if not isinstance(ref_name, str):
            bad(f"{path}.name", "request.type", "name must be a string", _short(ref_name))
            continue
        if not isinstance(source, str):
            bad(f"{path}.source", "request.type", "source must be a string (URL, data URI or local path)", _short(source))
            continue
        if kind is not None and kind not in ("video", "image"):
            bad(f"{path}.kind", "references.kind", "kind must be 'video' or 'image'", _short(kind), ["video", "image"])
            continue
        voice = item.get("voice")
        if voice is not None and not (isinstance(voice, str) and _is_text(voice)):
            bad(f"{path}.voice", "request.type", "voice must be a string (URL, data URI or local path)", _short(voice))
            continue
        parsed.append(Reference(name=ref_name, source=source, kind=kind, voice=voice))
    kwargs.setdefault("prompt", "")
    return GenerationRequest(references=tuple(parsed), **kwargs), problems


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _short(value: Any, limit: int = 80) -> Any:
    """Keep huge values (a 50 MB data URI) out of messages."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- sources ---------------------------------------------------------------------------------------

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+):")


def source_type(source: str) -> Literal["url", "data", "path"]:
    """Classify a source as a URL (any ``scheme:``, checked later for http/https), a data URI or a local path."""
    match = _SCHEME.match(source[:32])
    if match is None:  # includes Windows drive letters such as C:\\
        return "path"
    return "data" if match.group(1).lower() == "data" else "url"


def source_format(source: str) -> str | None:
    """The media format a source declares by its extension or data-URI MIME type (None when unknown)."""
    kind = source_type(source)
    if kind == "data":
        match = DATA_URI.match(source[:256])
        mime = (match.group("mime") or "").lower() if match else ""
        return _MIME_FORMAT.get(mime, mime.split("/")[-1] or None) if mime else None
    path = source.split("?", 1)[0].split("#", 1)[0] if kind == "url" else source
    dot = path.rfind(".")
    if dot < 0 or "/" in path[dot:]:
        return None
    ext = path[dot:].lower()
    return _VIDEO_EXT.get(ext) or _IMAGE_EXT.get(ext) or _AUDIO_EXT.get(ext)


def infer_kind(source: str) -> ReferenceKind | None:
    """``video`` or ``image`` from the source's extension or MIME type; None when it cannot tell."""
    if source_type(source) == "data":
        match = DATA_URI.match(source[:256])
        mime = (match.group("mime") or "").lower() if match else ""
        if mime.startswith("video/"):
            return "video"
        if mime.startswith("image/"):
            return "image"
        return None
    fmt = source_format(source)
    if fmt in _VIDEO_EXT.values():
        return "video"
    if fmt in _IMAGE_EXT.values():
        return "image"
    return None
