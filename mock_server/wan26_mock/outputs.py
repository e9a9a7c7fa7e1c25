"""Real, playable MP4 outputs: a test pattern of the requested shape, made once per shape with PyAV.

Bounded work: a shape never exceeds the largest documented Wan 2.6 output (:func:`bounded_shape`: 15 s, 1080p's pixel
count, 1920 px a side, 16 fps: at most 240 frames, a few seconds of encoding), however it was asked for. Encodes run on
a small pool of worker threads, never in the event loop, and one per shape at a time: requests that need the same
shape share its encode, requests that need another shape never wait for it. :meth:`OutputStore.close` stops encodes
between two frames (the server's shutdown calls it, so SIGTERM is never held up by an encode).
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

__all__ = ["MAX_DURATION_S", "MAX_PIXELS", "MAX_SIDE", "OutputShape", "OutputStore", "OutputsClosed", "bounded_shape"]

FPS = 16  # kept low: real Wan outputs run at 16-30 fps, and a low rate keeps generation quick
MAX_DURATION_S = 15  # the longest documented output (fal and DashScope image-to-video: 15 s)
MAX_SIDE = 1920  # 1080p's long side
MAX_PIXELS = 1920 * 1080  # 1080p (1440*1440 has as many)
MIN_SIDE = 16
ENCODE_WORKERS = 4


class OutputsClosed(RuntimeError):
    """The store was closed (the server is shutting down): no more outputs are made."""


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


def bounded_shape(width: int, height: int, duration: int, *, audio: bool) -> OutputShape:
    """The shape asked for, clamped: duration 1 to :data:`MAX_DURATION_S` s, sides even, from :data:`MIN_SIDE` to
    :data:`MAX_SIDE` px, and at most :data:`MAX_PIXELS` pixels (scaled down keeping the aspect ratio)."""
    width, height = max(MIN_SIDE, min(MAX_SIDE, int(width))), max(MIN_SIDE, min(MAX_SIDE, int(height)))
    if width * height > MAX_PIXELS:
        factor = math.sqrt(MAX_PIXELS / (width * height))
        width, height = max(MIN_SIDE, int(width * factor)), max(MIN_SIDE, int(height * factor))
    return OutputShape(width - width % 2, height - height % 2, max(1, min(MAX_DURATION_S, int(duration))), audio=audio)


class OutputStore:
    """Makes and caches MP4 files in ``directory``; safe to call from several threads and event loops."""

    def __init__(self, directory: Path, workers: int = ENCODE_WORKERS) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # guards ``_pending`` only: never held across an encode
        self._pending: dict[str, Future[Path]] = {}
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wan26-mock-encode")

    def prepare(self, shape: OutputShape) -> Future[Path]:
        """The file of ``shape``, now if cached, else when its encode (started now, or already under way) ends."""
        target = self.directory / shape.name
        if self._stop.is_set():
            raise OutputsClosed("the mock is shutting down")
        with self._lock:
            future = self._pending.get(shape.name)
            started = future is None and not target.exists()
            if started:
                try:
                    future = self._pending[shape.name] = self._pool.submit(self._make, shape, target)
                except RuntimeError:  # closed meanwhile, from another thread
                    raise OutputsClosed("the mock is shutting down") from None
        if future is None:
            done: Future[Path] = Future()
            done.set_result(target)
            return done
        if started:
            future.add_done_callback(lambda _: self._forget(shape.name))
        return future

    def path(self, shape: OutputShape) -> Path:
        """The file of ``shape``, made first when needed (blocking)."""
        return self.prepare(shape).result()

    def close(self) -> None:
        """Stop every encode between two frames and refuse new ones (:class:`OutputsClosed`)."""
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _make(self, shape: OutputShape, target: Path) -> Path:
        if not target.exists():  # another process sharing the cache may have made it meanwhile
            partial = target.with_suffix(f".{os.getpid()}.part")  # processes may share the cache
            try:
                _encode(partial, shape, self._stop)
                partial.replace(target)
            finally:
                partial.unlink(missing_ok=True)
        return target

    def _forget(self, name: str) -> None:
        with self._lock:
            self._pending.pop(name, None)

    def lookup(self, name: str) -> Path | None:
        """The cached file called ``name``; never a path outside the store."""
        if "/" in name or "\\" in name or name.startswith(".") or not name.endswith(".mp4"):
            return None
        target = self.directory / name
        return target if target.is_file() else None

    @staticmethod
    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _encode(path: Path, shape: OutputShape, stop: threading.Event) -> None:
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
            if stop.is_set():
                raise OutputsClosed("the mock is shutting down")
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
                if stop.is_set():
                    raise OutputsClosed("the mock is shutting down")
                chunk = tone[start : start + samples].reshape(1, -1)
                sound = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                sound.sample_rate = 48000
                sound.pts = start
                container.mux(audio.encode(sound))
            container.mux(audio.encode())
