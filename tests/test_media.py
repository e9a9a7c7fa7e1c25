"""Local media probing (``wan26core._media``) and its use by ``validate(..., probe=True)``.

Every file is made on the fly in ``tmp_path`` with Pillow (images) or PyAV (video, audio): images sit
around the contract's bounds only where a bound is under test, and videos are ~1 s at 320x240. Remote
probing is served by ``respx``; nothing here touches the network.
"""

from __future__ import annotations

import base64
import io
import sys
from collections.abc import Iterator
from pathlib import Path

import av
import httpx
import pytest
import respx
from PIL import Image

import wan26core
from wan26core._media import MediaInfo, probe_bytes, probe_file, probe_url

CONTRACT = wan26core.builtin_contract("fal/r2v-flash")
GARBAGE = b"\x00\x01not media at all\xff\xfe" * 64


# --- helpers ---------------------------------------------------------------------------------------


def image_bytes(size: tuple[int, int] = (300, 300), mode: str = "RGB", fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, fmt)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def encoder() -> str:
    for name in ("libx264", "mpeg4"):
        if name in av.codecs_available:
            try:
                av.codec.Codec(name, "w")
            except Exception:  # listed, but only as a decoder
                continue
            return name
    pytest.skip("this PyAV build has neither a libx264 nor an mpeg4 encoder")


def write_video(path: Path, fps: int, seconds: float, size: tuple[int, int] = (320, 240), audio: bool = False) -> Path:
    """A solid-colour clip of ``round(fps * seconds)`` frames, optionally with silent mono AAC."""
    width, height = size
    with av.open(str(path), "w") as container:
        video = container.add_stream(encoder(), rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = container.add_stream("aac", rate=8000, layout="mono") if audio else None
        for i in range(round(fps * seconds)):
            frame = av.VideoFrame.from_image(Image.new("RGB", size, (i * 9 % 256, 64, 128)))
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        if sound is not None:
            samples = sound.codec_context.frame_size or 1024
            for pts in range(0, int(8000 * seconds), samples):
                chunk = av.AudioFrame(format="fltp", layout="mono", samples=samples)
                for plane in chunk.planes:
                    plane.update(bytes(plane.buffer_size))
                chunk.sample_rate, chunk.pts = 8000, pts
                for packet in sound.encode(chunk):
                    container.mux(packet)
            for packet in sound.encode():
                container.mux(packet)
    return path


def rules(source: str, kind: str = "image", *, probe: bool = True) -> list[str]:
    request = wan26core.GenerationRequest(prompt="@a walks", references=[wan26core.Reference("a", source, kind)])  # type: ignore[arg-type]
    return [v.rule for v in wan26core.validate(request, CONTRACT, probe=probe)]


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


# --- images ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "mode", "fmt", "size", "expected", "alpha"),
    [
        ("rgb.png", "RGB", "PNG", (300, 241), "png", False),
        ("rgba.png", "RGBA", "PNG", (241, 300), "png", True),
        ("photo.jpg", "RGB", "JPEG", (320, 250), "jpeg", False),
        ("pic.webp", "RGB", "WEBP", (260, 270), "webp", False),
        ("clear.webp", "RGBA", "WEBP", (260, 270), "webp", True),
        ("old.bmp", "RGB", "BMP", (250, 280), "bmp", False),
    ],
)
def test_probe_file_images(
    tmp_path: Path, name: str, mode: str, fmt: str, size: tuple[int, int], expected: str, alpha: bool
) -> None:
    path = write(tmp_path / name, image_bytes(size, mode, fmt))
    info = probe_file(path)
    assert (info.format, info.width, info.height, info.alpha) == (expected, *size, alpha)
    assert info.size == path.stat().st_size
    assert (info.duration, info.fps) == (None, None)


def test_content_format_wins_over_the_file_name(tmp_path: Path) -> None:
    path = write(tmp_path / "x.png", image_bytes(fmt="GIF"))
    assert probe_file(path).format == "gif"
    assert rules(str(path)) == ["reference_image.format"]
    assert rules(str(path), probe=False) == ["reference_image.format"]  # the built-in sniff reads the first bytes


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((239, 300), ["reference_image.width"]),
        ((300, 239), ["reference_image.height"]),
        ((239, 239), ["reference_image.width", "reference_image.height"]),
        ((5001, 240), ["reference_image.width"]),
        ((240, 240), []),
        ((5000, 240), []),
    ],
)
def test_image_dimension_bounds(tmp_path: Path, size: tuple[int, int], expected: list[str]) -> None:
    assert rules(str(write(tmp_path / "ref.png", image_bytes(size)))) == expected


def test_alpha_image_is_refused_when_probing(tmp_path: Path) -> None:
    path = write(tmp_path / "ref.png", image_bytes(mode="RGBA"))
    request = wan26core.GenerationRequest(prompt="@a walks", references=[wan26core.Reference("a", str(path), "image")])
    [violation] = wan26core.validate(request, CONTRACT, probe=True)
    assert (violation.rule, violation.field, violation.value) == ("reference_image.alpha", "references[0].source", True)


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_colour_key_transparency_counts_as_alpha(mode: str) -> None:
    buffer = io.BytesIO()
    Image.new(mode, (300, 300)).save(buffer, "PNG", transparency=(0, 0, 0) if mode == "RGB" else 0)
    assert probe_bytes(buffer.getvalue()).alpha is True


# --- video and audio -------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "fmt"), [("clip.mp4", "mp4"), ("clip.mov", "mov")])
def test_probe_video_facts(tmp_path: Path, name: str, fmt: str) -> None:
    info = probe_file(write_video(tmp_path / name, fps=16, seconds=1.25))
    assert (info.format, info.width, info.height, info.has_audio) == (fmt, 320, 240, False)
    assert info.fps == pytest.approx(16, abs=0.5)
    assert info.duration == pytest.approx(1.25, abs=0.2)
    assert rules(str(tmp_path / name), "video") == []


def test_video_with_audio_stream(tmp_path: Path) -> None:
    info = probe_file(write_video(tmp_path / "talk.mp4", fps=24, seconds=1.5, size=(256, 144), audio=True))
    assert (info.format, info.width, info.height, info.has_audio) == ("mp4", 256, 144, True)
    assert info.fps == pytest.approx(24, abs=0.5)
    assert info.duration == pytest.approx(1.5, abs=0.2)


@pytest.mark.parametrize(
    ("fps", "seconds", "expected"),
    [
        (12, 1.5, ["reference_video.fps"]),
        (16, 0.5, ["reference_video.duration_s"]),
        (12, 0.5, ["reference_video.duration_s", "reference_video.fps"]),
    ],
)
def test_video_limits(tmp_path: Path, fps: int, seconds: float, expected: list[str]) -> None:
    path = write_video(tmp_path / "ref.mp4", fps=fps, seconds=seconds)
    assert sorted(rules(str(path), "video")) == expected


def test_probe_wav_audio(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000, layout="mono")
        chunk = av.AudioFrame(format="s16", layout="mono", samples=8000)
        chunk.planes[0].update(bytes(chunk.planes[0].buffer_size))
        chunk.sample_rate, chunk.pts = 8000, 0
        for packet in [*stream.encode(chunk), *stream.encode()]:
            container.mux(packet)
    info = probe_file(path)
    assert (info.format, info.width, info.fps, info.has_audio) == ("wav", None, None, True)
    assert info.duration == pytest.approx(1.0, abs=0.05)


# --- data URIs, garbage, no probing ----------------------------------------------------------------


def test_probe_bytes_data_uri_matches_probe_file(tmp_path: Path) -> None:
    data = image_bytes((333, 444), "RGBA")
    from_file = probe_file(write(tmp_path / "a.png", data))
    assert probe_bytes(data_uri(data)) == from_file == probe_bytes(data)
    assert from_file == MediaInfo(format="png", size=len(data), width=333, height=444, alpha=True)


def test_validate_probes_data_uri_sources() -> None:
    assert rules(data_uri(image_bytes((300, 300)))) == []
    assert rules(data_uri(image_bytes((300, 300), "RGBA"))) == ["reference_image.alpha"]
    assert rules(data_uri(image_bytes((100, 300)), "image/png")) == ["reference_image.width"]
    assert rules(data_uri(image_bytes((100, 300)), "image/png"), probe=False) == []


def test_garbage_is_unknown_and_reported_not_raised(tmp_path: Path) -> None:
    assert probe_bytes(GARBAGE).format == "unknown"
    assert probe_bytes(b"").format == "unknown"
    image, video = write(tmp_path / "junk.png", GARBAGE), write(tmp_path / "junk.mp4", GARBAGE)
    assert probe_file(video) == MediaInfo(format="unknown", size=len(GARBAGE))
    assert rules(str(image)) == ["reference_image.format"]
    assert rules(str(video), "video") == ["reference_video.format"]
    assert rules(data_uri(GARBAGE)) == ["reference_image.format"]


@pytest.mark.parametrize("name", ["junk.png", "junk.jpg", "junk.bin"])
def test_garbage_is_unknown_whatever_its_extension(tmp_path: Path, name: str) -> None:
    assert probe_file(write(tmp_path / name, GARBAGE)) == MediaInfo(format="unknown", size=len(GARBAGE))


def test_without_probe_local_files_are_only_checked_for_existence_and_size(tmp_path: Path) -> None:
    alpha = write(tmp_path / "ref.png", image_bytes((10, 10), "RGBA"))
    assert rules(str(alpha), probe=False) == []
    assert rules(str(tmp_path / "missing.png"), probe=False) == ["references.source"]
    assert rules(str(tmp_path / "missing.png"), probe=True) == ["references.source"]
    big = tmp_path / "big.png"
    with big.open("wb") as handle:  # sparse: 10 MB + 1 byte of nothing, never probed
        handle.truncate(CONTRACT.limits["reference_image"]["max_bytes"] + 1)
    assert rules(str(big), probe=False) == ["reference_image.max_bytes"]
    assert rules(str(big), probe=True) == ["reference_image.max_bytes"]


# --- the [media] extra -----------------------------------------------------------------------------


@pytest.mark.parametrize(("missing", "content"), [(("PIL", "av"), "image"), (("PIL",), "image"), (("av",), "garbage")])
def test_missing_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, missing: tuple[str, ...], content: str) -> None:
    path = write(tmp_path / "ref.png", image_bytes() if content == "image" else GARBAGE)
    for module in missing:
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(wan26core.MissingExtraError, match=r"wan26\[media\]"):
        probe_file(path)
    if content == "garbage":  # refused by the built-in sniff of the first bytes: no extra needed to say so
        assert rules(str(path)) == rules(str(path), probe=False) == ["reference_image.format"]
        return
    with pytest.raises(wan26core.MissingExtraError, match=r"wan26\[media\]"):
        rules(str(path))
    assert rules(str(path), probe=False) == []  # without probing the extra is not needed


# --- remote sources --------------------------------------------------------------------------------


def test_probe_url_downloads_and_probes() -> None:
    data = image_bytes((300, 250), "RGBA")
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get("https://media.example/x.png").mock(return_value=httpx.Response(200, content=data))
        info = probe_url("https://media.example/x.png", max_bytes=len(data))  # exactly at the limit is fine
        assert info == MediaInfo(format="png", size=len(data), width=300, height=250, alpha=True)
        assert rules("https://media.example/x.png") == ["reference_image.alpha"]
        assert rules("https://media.example/x.png", probe=False) == []
        assert route.call_count == 2


def test_probe_url_stops_reading_past_max_bytes() -> None:
    chunk, max_bytes, sent = 1024, 4096, []

    def body() -> Iterator[bytes]:
        for i in range(1000):
            sent.append(i)
            yield image_bytes()[:chunk] if i == 0 else bytes(chunk)

    with respx.mock:
        respx.get("https://media.example/big.png").mock(return_value=httpx.Response(200, content=body()))
        info = probe_url("https://media.example/big.png", max_bytes=max_bytes)
    assert info.format == "unknown"
    assert max_bytes < info.size <= max_bytes + chunk
    assert len(sent) <= max_bytes // chunk + 1


def test_probe_url_http_error_is_a_wan26_error() -> None:
    with respx.mock:
        respx.get("https://media.example/gone.png").mock(return_value=httpx.Response(404))
        with pytest.raises(wan26core.Wan26Error, match="cannot download"):
            probe_url("https://media.example/gone.png", max_bytes=100)
