"""The output a job asks for: its size, frame rate and duration, read from the request as far as the contract lists
the values (else the contract's defaults), and where the generated MP4s are kept."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from wan26core import Contract
from wan26core._dialect import (
    JobSnapshot,
)

from .jobs import Job
from .outputs import OutputShape, bounded_shape

__all__ = ["STANDARD_SIZES", "default_output_dir", "output_shape"]


STANDARD_SIZES: dict[str, dict[str, tuple[int, int]]] = {
    "480p": {"16:9": (832, 480), "9:16": (480, 832), "1:1": (624, 624), "4:3": (720, 544), "3:4": (544, 720)},
    "720p": {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (960, 960), "4:3": (1088, 832), "3:4": (832, 1088)},
    "1080p": {"16:9": (1920, 1080), "9:16": (1080, 1920), "1:1": (1440, 1440), "4:3": (1632, 1248), "3:4": (1248, 1632)},
}


def default_output_dir() -> Path:
    """Outputs depend only on their shape, so every mock process shares one cache (``WAN26_MOCK_CACHE``)."""
    configured = os.environ.get("WAN26_MOCK_CACHE")
    if configured:
        return Path(configured)
    return Path(tempfile.gettempdir()) / f"wan26-mock-outputs-{os.getuid() if hasattr(os, 'getuid') else 'user'}"


def output_shape(job: Job | JobSnapshot, contract: Contract) -> OutputShape:
    """The video a job produces: the requested (or default) tier, aspect ratio, duration and audio.

    Only values the contract lists are taken from the request (anything else falls back to the contract's default),
    and the result is clamped by :func:`~wan26_mock.outputs.bounded_shape`: no request can ask for a bigger output
    than the largest documented one, whatever reached the job store."""
    request = job.request
    tier = _listed(request.resolution, contract, "resolution") or "1080p"
    ratio = _listed(request.aspect_ratio, contract, "aspect_ratio") or "16:9"
    table = contract.size_table
    width, height = STANDARD_SIZES.get(tier, STANDARD_SIZES["1080p"]).get(ratio, (1920, 1080))
    if table and tier in table and ratio in table[tier]:
        width, height = _size(table[tier][ratio], (width, height))
    duration = _listed(request.duration, contract, "duration") or 5
    audio = request.generate_audio
    if audio is None:
        audio = bool(contract.default("generate_audio")) if contract.supports("generate_audio") else request.audio is not None
    return bounded_shape(width, height, int(duration), audio=bool(audio))


def _listed(value: Any, contract: Contract, option: str) -> Any:
    """``value`` when the contract lists it for ``option`` (or lists nothing and it is a plain str/int), else the
    contract's default (None when it has none)."""
    spec = contract.data["options"].get(option, {})
    allowed = spec.get("values")
    plain = isinstance(value, (str, int)) and not isinstance(value, bool)
    if plain and (value in allowed if isinstance(allowed, list) else isinstance(value, type(spec.get("default", value)))):
        return value
    return spec.get("default")


def _size(text: Any, fallback: tuple[int, int]) -> tuple[int, int]:
    """``"W*H"`` from a size table, else ``fallback``."""
    width, _, height = str(text).partition("*")
    return (int(width), int(height)) if width.isdigit() and height.isdigit() and len(width + height) < 10 else fallback
