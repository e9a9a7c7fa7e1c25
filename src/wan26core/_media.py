"""Local media probing (the ``[media]`` extra: Pillow for images, PyAV for video and audio).

Reads the real format from the content, not the file name, plus the facts the contracts limit:
dimensions and alpha for images, duration and frame rate for video and audio.
"""

from __future__ import annotations

import base64
import io
import os
import tempfile
from dataclasses import dataclass
from typing import IO, Any

from wan26core._errors import MissingExtraError, Wan26Error

__all__ = ["MediaInfo", "probe_bytes", "probe_file", "probe_url"]

_PIL_FORMATS = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "BMP": "bmp", "WEBP": "webp", "GIF": "gif", "TIFF": "tiff"}
_EXTRA_HINT = "local media probing needs the [media] extra: pip install 'wan26[media]'"


@dataclass(frozen=True)
class MediaInfo:
    """What probing learnt about one file."""

    format: str  # jpeg, png, bmp, webp, mp4, mov, wav, mp3 … or "unknown"
    size: int
    width: int | None = None
    height: int | None = None
    alpha: bool | None = None
    duration: float | None = None
    fps: float | None = None
    has_audio: bool | None = None


def probe_file(path: str | os.PathLike[str]) -> MediaInfo:
    """Probe a local file."""
    with open(path, "rb") as handle:
        return _probe(handle, os.path.getsize(path))


def probe_bytes(data: bytes | str) -> MediaInfo:
    """Probe raw bytes or a ``data:…;base64,…`` URI."""
    if isinstance(data, str):
        _, _, payload = data.partition(",")
        try:
            data = base64.b64decode(payload, validate=False)
        except ValueError as exc:
            raise Wan26Error(f"the data URI's payload is not base64: {exc}") from exc
    return _probe(io.BytesIO(data), len(data))


def probe_url(url: str, max_bytes: int | None = None, *, timeout: float = 30.0) -> MediaInfo:
    """Download a remote file (at most ``max_bytes`` + 1 bytes) and probe it."""
    import httpx

    limit = (512 * 1024 * 1024 if max_bytes is None else max_bytes) + 1
    with tempfile.TemporaryFile() as spool:
        try:
            with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
                response.raise_for_status()
                for chunk in response.iter_bytes():
                    spool.write(chunk)
                    if spool.tell() >= limit:
                        return MediaInfo(format="unknown", size=spool.tell())
        except httpx.HTTPError as exc:
            raise Wan26Error(f"cannot download {url} to probe it: {exc}") from exc
        size = spool.tell()
        spool.seek(0)
        return _probe(spool, size)


def _probe(handle: IO[bytes], size: int) -> MediaInfo:
    image = _probe_image(handle, size)
    if image is not None:
        return image
    handle.seek(0)
    return _probe_av(handle, size)


def _probe_image(handle: IO[bytes], size: int) -> MediaInfo | None:
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError as exc:
        raise MissingExtraError(_EXTRA_HINT) from exc
    try:
        with Image.open(handle) as img:
            fmt = _PIL_FORMATS.get(img.format or "", (img.format or "unknown").lower())
            # an alpha channel, or a colour key (PNG tRNS) in any mode, is transparency
            alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
            return MediaInfo(format=fmt, size=size, width=img.width, height=img.height, alpha=alpha)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


class _Content:
    """A file-like object without a ``name``, so probing judges by content alone."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.read, self.seek, self.tell = handle.read, handle.seek, handle.tell


def _probe_av(handle: IO[bytes], size: int) -> MediaInfo:
    try:
        import av
    except ImportError as exc:
        raise MissingExtraError(_EXTRA_HINT) from exc
    try:
        # a nameless wrapper: given a file's name, FFmpeg would guess the format from its extension
        container: Any = av.open(_Content(handle), mode="r")
    except (av.FFmpegError, OSError, ValueError):
        return MediaInfo(format="unknown", size=size)
    with container:
        names = set(container.format.name.split(","))
        video = next(iter(container.streams.video), None)
        audio = next(iter(container.streams.audio), None)
        duration = float(container.duration / 1_000_000) if container.duration else None
        if "mp4" in names or "mov" in names:
            brand = str(container.metadata.get("major_brand", "")).strip()
            fmt = "mov" if brand == "qt" else "mp4"
        elif "wav" in names:
            fmt = "wav"
        elif "mp3" in names:
            fmt = "mp3"
        else:
            fmt = sorted(names)[0]
        fps = None
        width = height = None
        if video is not None:
            rate = video.average_rate or video.guessed_rate
            fps = float(rate) if rate else None
            width, height = video.codec_context.width, video.codec_context.height
            if duration is None and video.duration and video.time_base:
                duration = float(video.duration * video.time_base)
        return MediaInfo(
            format=fmt, size=size, width=width, height=height, duration=duration, fps=fps, has_audio=audio is not None
        )
