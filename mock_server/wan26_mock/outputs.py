"""Real, playable MP4 outputs: a test pattern of the requested shape, made once per shape with PyAV."""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

__all__ = ["OutputShape", "OutputStore"]

FPS = 16  # kept low: real Wan outputs run at 16-30 fps, and a low rate keeps generation quick


@dataclass(frozen=True)
class OutputShape:
    width: int
    height: int
    duration: int
    fps: int = FPS
    audio: bool = False

    @property
    def name(self) -> str:
        return f"wan26-{self.width}x{self.height}-{self.duration}s-{self.fps}fps{'-audio' if self.audio else ''}.mp4"


class OutputStore:
    """Makes and caches MP4 files in ``directory``; safe to call from several threads."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def path(self, shape: OutputShape) -> Path:
        target = self.directory / shape.name
        with self._lock:
            if not target.exists():
                partial = target.with_suffix(f".{os.getpid()}.part")  # processes may share the cache
                _encode(partial, shape)
                partial.replace(target)
        return target

    def lookup(self, name: str) -> Path | None:
        """The cached file called ``name``; never a path outside the store."""
        if "/" in name or "\\" in name or name.startswith(".") or not name.endswith(".mp4"):
            return None
        target = self.directory / name
        return target if target.is_file() else None

    @staticmethod
    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _encode(path: Path, shape: OutputShape) -> None:
    import av
    import numpy as np

    frames = shape.duration * shape.fps
    with av.open(str(path), mode="w", format="mp4") as container:
        video = container.add_stream("libx264" if "libx264" in av.codecs_available else "mpeg4", rate=shape.fps)
        video.width, video.height = shape.width, shape.height
        video.pix_fmt = "yuv420p"
        video.options = {"preset": "ultrafast", "tune": "stillimage"} if video.codec_context.name == "libx264" else {}
        audio = None
        if shape.audio:
            audio = container.add_stream("aac", rate=48000)
            audio.layout = "mono"
        bar = max(1, shape.width // 8)
        base = np.zeros((shape.height, shape.width, 3), dtype=np.uint8)
        for i in range(8):  # colour bars
            base[:, i * bar : (i + 1) * bar] = [(i & 1) * 255, (i >> 1 & 1) * 255, (i >> 2 & 1) * 255]
        for index in range(frames):
            image = base.copy()
            x = int(index / max(1, frames - 1) * (shape.width - bar))
            image[shape.height // 2 - bar // 4 : shape.height // 2 + bar // 4, x : x + bar // 2] = 255  # moving marker
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            frame.time_base = Fraction(1, shape.fps)
            container.mux(video.encode(frame))
        container.mux(video.encode())
        if audio is not None:
            samples = 1024
            total = 48000 * shape.duration
            t = np.arange(total, dtype=np.float32) / 48000
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, total, samples):
                chunk = tone[start : start + samples].reshape(1, -1)
                sound = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                sound.sample_rate = 48000
                sound.pts = start
                container.mux(audio.encode(sound))
            container.mux(audio.encode())
