"""Test helpers: the built-in registry and Hypothesis strategies for requests each endpoint accepts."""

from __future__ import annotations

import re
import string
from typing import Any

from hypothesis import strategies as st

import wan26_aimlapi
import wan26_dashscope
import wan26_fal
import wan26_vtrix
from wan26core import Contract, GenerationRequest, Reference, Registry
from wan26core.references import Token, parse_prompt

BUILTIN_PLUGINS = (wan26_fal, wan26_aimlapi, wan26_vtrix, wan26_dashscope)
EXPECTED_IDS = [
    "aimlapi/i2v",
    "aimlapi/r2v",
    "dashscope/i2v",
    "dashscope/r2v",
    "dashscope/r2v-flash",
    "fal/i2v",
    "fal/r2v",
    "fal/r2v-flash",
    "vtrix/r2v",
]


def builtin_registry() -> Registry:
    return Registry(plugins=BUILTIN_PLUGINS, entry_points=False)


_REGISTRY = builtin_registry()
PROVIDERS = _REGISTRY.providers()
CONTRACTS: dict[str, Contract] = {pid: p.contract for pid, p in PROVIDERS.items()}
R2V = sorted(pid for pid, c in CONTRACTS.items() if c.task == "r2v")
I2V = sorted(pid for pid, c in CONTRACTS.items() if c.task == "i2v")
SIZE_TABLE = sorted(pid for pid, c in CONTRACTS.items() if c.size_table)

_RESERVED = re.compile(r"(?i)(video|image|character)[0-9]+")
names = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True).filter(lambda n: not _RESERVED.fullmatch(n))
# literal prompt text with no '@' and nothing that reads as a native token
plain_text = st.text(alphabet=string.ascii_letters + string.digits + " ,.!?'-\n", max_size=40).filter(
    lambda t: not re.search(r"(?i)character[0-9]", t)
)
_EXT = {"mp4": "mp4", "mov": "mov", "jpeg": "jpg", "png": "png", "bmp": "bmp", "webp": "webp", "wav": "wav", "mp3": "mp3"}


def media_url(contract: Contract, limit_name: str, stem: str) -> st.SearchStrategy[str]:
    limit = contract.limits[limit_name]
    return st.sampled_from(limit["formats"]).map(lambda fmt: f"https://media.example/{stem}.{_EXT[fmt]}")


@st.composite
def valid_requests(draw: st.DrawFn, contract: Contract) -> GenerationRequest:
    """A request the contract accepts, with every reference named in the prompt in a random token style."""
    limits = contract.limits
    references: list[Reference] = []
    if contract.task == "r2v":
        counts = limits["references"]
        n_video = draw(st.integers(counts["video"]["min"], counts["video"]["max"]))
        n_image = draw(st.integers(counts["image"]["min"], counts["image"]["max"]))
        total = n_video + n_image
        if not counts["total"]["min"] <= total <= counts["total"]["max"]:
            n_image = max(0, min(n_image, counts["total"]["max"] - n_video))
            n_video = max(n_video, counts["total"]["min"] - n_image)
        kinds = ["video"] * n_video + ["image"] * n_image
        kinds = draw(st.permutations(kinds))
        ref_names = draw(st.lists(names, min_size=len(kinds), max_size=len(kinds), unique=True))
        for name, kind in zip(ref_names, kinds, strict=True):
            limit = "reference_video" if kind == "video" else "reference_image"
            source = draw(media_url(contract, limit, name))
            references.append(Reference(name, source, draw(st.sampled_from([kind, None]))))
    tokens = []
    videos = [r for r in references if r.resolved_kind == "video"]
    images = [r for r in references if r.resolved_kind == "image"]
    for i, ref in enumerate(references):
        styles = [f"@{ref.name}", f"character{i + 1}", f"Character{i + 1}"]
        pool, prefix = (videos, "@Video") if ref.resolved_kind == "video" else (images, "@Image")
        styles.append(f"{prefix}{pool.index(ref) + 1}")
        tokens.append(draw(st.sampled_from(styles)))
    extra = draw(st.lists(st.sampled_from(tokens), max_size=2)) if tokens else []
    order = draw(st.permutations(tokens + extra))
    words = [draw(plain_text)]
    for token in order:
        words += [token, draw(plain_text)]
    prompt = " ".join(words)
    if not prompt.strip():
        prompt = "a calm scene " + prompt
    kwargs: dict[str, Any] = {}
    options = contract.options
    for name, attr in (
        ("resolution", "resolution"),
        ("aspect_ratio", "aspect_ratio"),
        ("duration", "duration"),
        ("shot_type", "shot_type"),
    ):
        if options[name]["supported"]:
            kwargs[attr] = draw(st.none() | st.sampled_from(options[name]["values"]))
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
    return GenerationRequest(prompt=prompt, references=tuple(references), **kwargs)


def expected_sources(request: GenerationRequest) -> list[str]:
    """The source each prompt token names, resolved independently of wan26core's binder."""
    refs = list(request.references)
    videos = [r for r in refs if r.resolved_kind == "video"]
    images = [r for r in refs if r.resolved_kind == "image"]
    out = []
    for part in parse_prompt(request.prompt):
        if isinstance(part, Token):
            if part.kind == "name":
                out.append(next(r.source for r in refs if r.name == part.value))
            else:
                pool = {"character": refs, "video": videos, "image": images}[part.kind]
                out.append(pool[int(part.value) - 1].source)
    return out
