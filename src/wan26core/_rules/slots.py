"""The media slots beside the references: first frame, last frame, a clip to continue, driving audio, and a voice
sample per reference. An endpoint takes a slot through a wire field or an item type of its media array
(:meth:`~wan26core._contract.Contract.takes`); a slot it lacks is a violation, never a silent drop."""

from __future__ import annotations

from collections.abc import Callable

from wan26core._contract import Contract
from wan26core._rules.request import MEDIA_SLOTS, GenerationRequest
from wan26core._rules.sources import check_source

__all__ = ["check_slots"]

#: the slots checked here, as messages name them (audio is an option, checked with the options)
_WORDS = {"first_frame": "first-frame image", "last_frame": "last-frame image", "clip": "video clip to continue"}


def check_slots(request: GenerationRequest, contract: Contract, probe: bool, add: Callable[..., None]) -> None:
    """Each slot the request fills: taken by the endpoint and a sound source; image-to-video's first frame."""
    limits = contract.limits
    # where a clip can start the video instead, which start is needed is the contract's conditional_limits' to say
    if contract.task == "i2v" and request.image is None and not contract.takes("clip"):
        add("image", "first_frame.required", "image-to-video needs a first-frame image")
    for slot, words in _WORDS.items():
        attr = MEDIA_SLOTS[slot]
        source = getattr(request, attr)
        if source is None:
            continue
        if not contract.takes(slot):
            hint = " (use a named reference)" if slot == "first_frame" else ""
            add(attr, "option.unsupported", f"{contract.id} takes no {words}{hint}", value=source)
        else:
            check_source(source, limits.get(slot), slot, attr, f"{slot}.source", probe, add)
    voice_key = contract.media.get("voice")
    for i, ref in enumerate(request.references):
        if ref.voice is None:
            continue
        path = f"references[{i}].voice"
        if not voice_key:
            add(path, "option.unsupported", f"{contract.id} takes no voice sample per reference", value=ref.voice)
        else:
            check_source(ref.voice, limits.get("reference_voice"), "reference_voice", path, "references.voice.source", probe, add)
