"""Hypothesis strategies for the conformance kit: requests an endpoint's contract accepts, and what they name.

Everything is derived from the contract (limits, options, reference rules), so a third-party plugin gets
strategies for its own endpoints without writing any. ``tests/support.py`` re-exports these for the suite.
"""

from __future__ import annotations

import re
import string
from dataclasses import replace
from typing import Any

from hypothesis import strategies as st

from wan26core._contract import Contract
from wan26core._rules.conditions import field_value, matches
from wan26core._rules.references import Token, parse_prompt, per_kind
from wan26core._rules.request import GenerationRequest, Reference

__all__ = ["expected_sources", "media_url", "minimal_request", "plain_text", "reference_names", "valid_requests"]

_RESERVED = re.compile(r"(?i)(video|image|character)[0-9]+")
#: reference names: identifiers that do not read as native tokens (video1, Image2, character3)
reference_names = st.builds(
    str.__add__, st.sampled_from(string.ascii_lowercase), st.text(string.ascii_lowercase + string.digits + "_", max_size=11)
).filter(lambda n: not _RESERVED.fullmatch(n))
#: literal prompt text with no '@' and nothing that reads as a native token (character2, Image 1, video3)
plain_text = st.text(alphabet=string.ascii_letters + string.digits + " ,.!?'-\n", max_size=40).filter(
    lambda t: not re.search(r"(?i)(character|image ?|video ?)[0-9]", t)
)
_EXT = {"mp4": "mp4", "mov": "mov", "jpeg": "jpg", "png": "png", "bmp": "bmp", "webp": "webp", "wav": "wav", "mp3": "mp3"}
_LIMIT_OF_KIND = {"video": "reference_video", "image": "reference_image"}


def media_url(contract: Contract, limit_name: str, stem: str) -> st.SearchStrategy[str]:
    """An https URL whose extension is one of the formats ``limits.<limit_name>.formats`` allows."""
    limit = contract.limits[limit_name]
    return st.sampled_from(limit["formats"]).map(lambda fmt: f"https://media.example/{stem}.{_EXT[fmt]}")


def _reference_counts(contract: Contract, n_video: int, n_image: int) -> tuple[int, int]:
    """(videos, images) moved inside ``limits.references.total``."""
    counts = contract.limits["references"]
    if not counts["total"]["min"] <= n_video + n_image <= counts["total"]["max"]:
        n_image = max(0, min(n_image, counts["total"]["max"] - n_video))
        n_video = max(n_video, counts["total"]["min"] - n_image)
    return n_video, n_image


@st.composite
def valid_requests(draw: st.DrawFn, contract: Contract) -> GenerationRequest:
    """A request the contract accepts, with every reference named in the prompt in a random token style."""
    limits = contract.limits
    references: list[Reference] = []
    if contract.task == "r2v":
        counts = limits["references"]
        n_video = draw(st.integers(counts["video"]["min"], counts["video"]["max"]))
        n_image = draw(st.integers(counts["image"]["min"], counts["image"]["max"]))
        n_video, n_image = _reference_counts(contract, n_video, n_image)
        kinds = draw(st.permutations(["video"] * n_video + ["image"] * n_image))
        ref_names = draw(st.lists(reference_names, min_size=len(kinds), max_size=len(kinds), unique=True))
        for name, kind in zip(ref_names, kinds, strict=True):
            source = draw(media_url(contract, _LIMIT_OF_KIND[kind], name))
            references.append(Reference(name, source, draw(st.sampled_from([kind, None]))))
    tokens = []
    videos = [r for r in references if r.resolved_kind == "video"]
    images = [r for r in references if r.resolved_kind == "image"]
    spec = contract.references
    for i, ref in enumerate(references):
        styles = [f"@{ref.name}", f"character{i + 1}", f"Character{i + 1}"]
        pool, prefix = (videos, "Video") if ref.resolved_kind == "video" else (images, "Image")
        styles.append(f"@{prefix}{pool.index(ref) + 1}")
        if spec is not None and per_kind(spec):  # the native tokens of endpoints that number per kind
            styles += [f"{prefix} {pool.index(ref) + 1}", f"{prefix}{pool.index(ref) + 1}"]
        tokens.append(draw(st.sampled_from(styles)))
    voice = contract.media.get("voice") and "reference_voice" in limits
    if voice:
        voices = [draw(st.none() | media_url(contract, "reference_voice", f"voice{i}")) for i in range(len(references))]
        references = [replace(r, voice=v) for r, v in zip(references, voices, strict=True)]
    extra = draw(st.lists(st.sampled_from(tokens), max_size=2)) if tokens else []
    order = draw(st.permutations(tokens + extra))
    words = [draw(plain_text)]
    for token in order:
        words += [token, draw(plain_text)]
    prompt = " ".join(words)
    if not prompt.strip():
        prompt = "a calm scene " + prompt
    request = GenerationRequest(prompt=prompt, references=tuple(references), **draw(_options(contract)))
    return respect_conditions(request, contract)


@st.composite
def _options(draw: st.DrawFn, contract: Contract) -> dict[str, Any]:
    """Values for the options the endpoint supports, each possibly left unset."""
    limits, options = contract.limits, contract.options
    kwargs: dict[str, Any] = {}
    for name in ("resolution", "aspect_ratio", "duration", "shot_type"):
        if options[name]["supported"]:
            kwargs[name] = draw(st.none() | st.sampled_from(options[name]["values"]))
    for name in ("prompt_expansion", "generate_audio", "safety_checker", "watermark"):
        if options[name]["supported"]:
            kwargs[name] = draw(st.none() | st.booleans())
    if options["seed"]["supported"]:
        kwargs["seed"] = draw(st.none() | st.integers(limits["seed"]["min"], limits["seed"]["max"]))
    if options["negative_prompt"]["supported"]:
        kwargs["negative_prompt"] = draw(st.none() | plain_text)
    if options["audio_url"]["supported"] and "audio" in limits:
        kwargs["audio"] = draw(st.none() | media_url(contract, "audio", "track"))
    if contract.task == "i2v":
        kwargs["image"] = draw(media_url(contract, "first_frame", "frame"))
    elif contract.takes("first_frame") and "first_frame" in limits:
        kwargs["image"] = draw(st.none() | media_url(contract, "first_frame", "frame"))
    for slot in ("last_frame", "clip"):
        if contract.takes(slot) and slot in limits:
            kwargs[slot] = draw(st.none() | media_url(contract, slot, slot))
    return kwargs


def respect_conditions(request: GenerationRequest, contract: Contract) -> GenerationRequest:
    """``request`` changed until the contract's conditional limits hold: an option moved to an allowed value, a
    source dropped where it must be absent (rules are applied in order, twice, so a change one causes is seen)."""
    for _ in range(2):
        for rule in contract.conditional_limits:
            if not all(matches(field_value(request, f, contract), p) for f, p in rule["when"].items()):
                continue
            for name, constraint in rule["then"].items():
                if constraint.get("present") is False:
                    request = request.replace(**{name: None})
                elif name in contract.options and "values" in contract.options[name]:
                    allowed = [v for v in contract.options[name]["values"] if matches(v, constraint)]
                    value = field_value(request, name, contract)
                    if value is not None and not matches(value, constraint) and allowed:
                        request = request.replace(**{name: allowed[-1]})
    return request


def minimal_request(contract: Contract) -> GenerationRequest:
    """The smallest request the contract accepts: the fewest references (videos first), every one named once."""
    references: list[Reference] = []
    image = None
    if contract.task == "r2v":
        counts = contract.limits["references"]
        n_video, n_image = counts["video"]["min"], counts["image"]["min"]
        while n_video + n_image < max(1, counts["total"]["min"]):
            if n_video < counts["video"]["max"]:
                n_video += 1
            else:
                n_image += 1
        for i, kind in enumerate(["video"] * n_video + ["image"] * n_image, start=1):
            fmt = contract.limits[_LIMIT_OF_KIND[kind]]["formats"][0]
            references.append(Reference(f"ref{i}", f"https://media.example/ref{i}.{_EXT[fmt]}", kind))  # type: ignore[arg-type]
    else:
        image = f"https://media.example/frame.{_EXT[contract.limits['first_frame']['formats'][0]]}"
    prompt = " and ".join(f"@{r.name}" for r in references) + " walk along a quiet beach" if references else "a quiet beach"
    return GenerationRequest(prompt=prompt.strip(), references=tuple(references), image=image)


def expected_sources(request: GenerationRequest, *, kind_words: bool = False) -> list[str]:
    """The source each prompt token names, resolved independently of wan26core's binder (``kind_words``: the
    endpoint numbers per kind, so ``Image 2`` is a token)."""
    refs = list(request.references)
    videos = [r for r in refs if r.resolved_kind == "video"]
    images = [r for r in refs if r.resolved_kind == "image"]
    out = []
    for part in parse_prompt(request.prompt, kind_words=kind_words):
        if isinstance(part, Token):
            if part.kind == "name":
                out.append(next(r.source for r in refs if r.name == part.value))
            else:
                pool = {"character": refs, "video": videos, "image": images}[part.kind]
                out.append(pool[int(part.value) - 1].source)
    return out
