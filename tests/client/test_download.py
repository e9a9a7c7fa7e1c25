"""Streaming, atomic downloads: nothing partial ever appears under the target name."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import http.server
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from wan26core import _download as download_module
from wan26core._download import STALE_AFTER_S, DownloadedFile, adownload, download, remove_stale_parts
from wan26core._errors import DownloadError, Wan26Error

BODY = bytes(range(256)) * 40  # 10 240 bytes
URL = "https://cdn.example/files/out.mp4?Expires=1&Signature=sig-SECRET"

Handler = Callable[[httpx.Request], httpx.Response]


class Counting:
    """A MockTransport handler that counts its requests."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        return self.handler(request)


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=BODY, headers={"content-type": "video/mp4"})


class Broken(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that delivers some bytes and then loses the connection."""

    def __iter__(self) -> Iterator[bytes]:
        yield BODY[:4096]
        raise httpx.ReadError("connection reset by peer")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield BODY[:4096]
        raise httpx.ReadError("connection reset by peer")


def broken(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, headers={"content-length": str(len(BODY))}, stream=Broken())


def short(request: httpx.Request) -> httpx.Response:  # says 10 240 bytes, sends 5 000
    return httpx.Response(200, headers={"content-length": str(len(BODY))}, content=BODY[:5000])


def not_found(request: httpx.Request) -> httpx.Response:
    return httpx.Response(404, text="<Error><Code>NoSuchKey</Code><SignatureProvided>sig-SECRET</SignatureProvided></Error>")


def sync_get(handler: Handler, url: str, path: Path, **kwargs: Any) -> DownloadedFile:
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        return download(url, path, client=client, **kwargs)


def async_get(handler: Handler, url: str, path: Path, **kwargs: Any) -> DownloadedFile:
    async def run() -> DownloadedFile:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await adownload(url, path, client=client, **kwargs)

    return asyncio.run(run())


GETTERS = [pytest.param(sync_get, id="sync"), pytest.param(async_get, id="async")]
Getter = Callable[..., DownloadedFile]


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize("get", GETTERS)
def test_success_streams_to_the_target(get: Getter, tmp_path: Path) -> None:
    target = tmp_path / "new" / "out.mp4"
    seen: list[tuple[int, int | None]] = []
    result = get(ok, URL, target, chunk_size=3000, expected_size=len(BODY), progress=lambda n, t: seen.append((n, t)))
    digest = hashlib.sha256(BODY).hexdigest()
    assert result == DownloadedFile(path=target, size=len(BODY), sha256=digest, content_type="video/mp4")
    assert target.read_bytes() == BODY
    assert names(target.parent) == ["out.mp4"]  # no temporary file left
    assert seen[0] == (0, len(BODY)) and seen[-1] == (len(BODY), len(BODY))
    assert [n for n, _ in seen] == sorted(n for n, _ in seen) and len(seen) == 1 + 4  # 3000+3000+3000+1240


@pytest.mark.parametrize("get", GETTERS)
def test_content_length_mismatch_leaves_nothing(get: Getter, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=f"Content-Length says {len(BODY)} bytes, 5000 bytes received") as info:
        get(short, URL, tmp_path / "out.mp4")
    assert isinstance(info.value, Wan26Error)
    assert names(tmp_path) == []


@pytest.mark.parametrize("get", GETTERS)
def test_expected_size_mismatch_names_both_sizes(get: Getter, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=f"expected {len(BODY) + 1} bytes, {len(BODY)} bytes received"):
        get(ok, URL, tmp_path / "out.mp4", expected_size=len(BODY) + 1)
    assert names(tmp_path) == []


@pytest.mark.parametrize("get", GETTERS)
def test_a_stream_broken_mid_body_leaves_nothing(get: Getter, tmp_path: Path) -> None:
    seen: list[int] = []
    with pytest.raises(DownloadError, match="interrupted: ReadError") as info:
        get(broken, URL, tmp_path / "out.mp4", chunk_size=1024, progress=lambda n, t: seen.append(n))
    assert info.value.retryable and isinstance(info.value.__cause__, httpx.ReadError)
    assert 4096 in seen  # the temporary file did receive bytes before the failure
    assert names(tmp_path) == []


@pytest.mark.parametrize("get", GETTERS)
def test_http_error_status_is_reported_without_the_signed_query(get: Getter, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="HTTP 404 Not Found") as info:
        get(not_found, URL, tmp_path / "out.mp4")
    assert info.value.http_status == 404 and not info.value.retryable
    assert "SECRET" not in str(info.value) and "cdn.example/files/out.mp4" in str(info.value)
    assert names(tmp_path) == []
    with pytest.raises(DownloadError, match="HTTP 503") as busy:
        get(lambda r: httpx.Response(503), URL, tmp_path / "out.mp4")
    assert busy.value.retryable


@pytest.mark.parametrize("get", GETTERS)
def test_an_existing_file_is_kept_unless_overwrite(get: Getter, tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    target.write_bytes(b"precious")
    handler = Counting(ok)
    with pytest.raises(DownloadError, match="already exists; pass overwrite=True"):
        get(handler, URL, target)
    assert handler.calls == 0 and target.read_bytes() == b"precious"  # refused before a byte was requested
    result = get(handler, URL, target, overwrite=True)
    assert handler.calls == 1 and result.size == len(BODY) and target.read_bytes() == BODY
    assert names(tmp_path) == ["out.mp4"]
    with pytest.raises(DownloadError, match="is a directory"):
        get(handler, URL, tmp_path)


@pytest.mark.parametrize("get", GETTERS)
def test_a_file_created_meanwhile_is_not_clobbered(get: Getter, tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"

    def someone_else_writes(done: int, total: int | None) -> None:
        if done == len(BODY):
            target.write_bytes(b"theirs")

    with pytest.raises(DownloadError, match="already exists"):
        get(ok, URL, target, progress=someone_else_writes)
    assert target.read_bytes() == b"theirs" and names(tmp_path) == ["out.mp4"]


@pytest.mark.parametrize("get", GETTERS)
def test_ctrl_c_mid_download_leaves_nothing(get: Getter, tmp_path: Path) -> None:
    def interrupt(done: int, total: int | None) -> None:
        if done > 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        get(ok, URL, tmp_path / "out.mp4", chunk_size=1000, progress=interrupt)
    assert names(tmp_path) == []


@pytest.mark.parametrize("get", GETTERS)
def test_compressed_transfer_stores_decoded_bytes_and_checks_their_size(get: Getter, tmp_path: Path) -> None:
    packed = gzip.compress(BODY)

    def gz(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=packed, headers={"content-encoding": "gzip"})

    result = get(gz, URL, tmp_path / "out.mp4", expected_size=len(BODY))  # Content-Length counts the gzip bytes
    assert result.size == len(BODY) and (tmp_path / "out.mp4").read_bytes() == BODY
    with pytest.raises(DownloadError, match="expected 7 bytes"):
        get(gz, URL, tmp_path / "again.mp4", expected_size=7)


class _Files(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args: Any) -> None:
        pass


def test_default_clients_over_loopback(tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v.mp4"
        one = download(url, tmp_path / "a.mp4")
        two = asyncio.run(adownload(url, tmp_path / "b.mp4"))
    finally:
        server.shutdown()
        server.server_close()
    assert one.sha256 == two.sha256 == hashlib.sha256(BODY).hexdigest()
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes() == BODY


def test_bad_chunk_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="chunk_size must be > 0"):
        download(URL, tmp_path / "x.mp4", chunk_size=0)


# --- temporary files a killed process left behind ------------------------------------------------------------
def _part(target: str, pid: int | None, host: str | None = None, tag: str = "0123456789ab") -> str:
    writer = f"{pid}-{host or download_module._HOST_TAG}-" if pid is not None else ""
    return f".{target}.part-{writer}{tag}"


@pytest.fixture
def writers() -> Iterator[tuple[int, int]]:
    """(pid of a process that has exited and been reaped, pid of one still running): POSIX process ids."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield dead.pid, live.pid
    finally:
        live.kill()
        live.wait()


@pytest.mark.parametrize("get", GETTERS)
def test_the_next_download_removes_only_temporary_files_whose_writer_is_gone(
    get: Getter, tmp_path: Path, writers: tuple[int, int]
) -> None:
    dead, live = writers
    old = time.time() - STALE_AFTER_S - 60
    files = {
        "dead writer": _part("out.mp4", dead),
        "live writer (another process)": _part("out.mp4", live, tag="111111111111"),
        "live writer (this process)": _part("out.mp4", os.getpid(), tag="222222222222"),
        "another host, recent": _part("out.mp4", dead, host="ffffffff", tag="333333333333"),
        "another host, old": _part("out.mp4", dead, host="ffffffff", tag="444444444444"),
        "no writer recorded, recent": _part("out.mp4", None, tag="555555555555"),
        "no writer recorded, old": _part("out.mp4", None, tag="666666666666"),
        "another target": _part("other.mp4", dead),
        "not a temporary name, old": ".out.mp4.part-notours.mp4",
    }
    for what, name in files.items():
        (tmp_path / name).write_bytes(b"partial")
        if what.endswith(", old"):
            os.utime(tmp_path / name, (old, old))
    (tmp_path / _part("out.mp4", dead, tag="777777777777")).symlink_to(tmp_path / files["another target"])
    result = get(ok, URL, tmp_path / "out.mp4")
    assert result.size == len(BODY)
    removed = {"dead writer", "another host, old", "no writer recorded, old"}
    kept = sorted(name for what, name in files.items() if what not in removed)
    assert names(tmp_path) == sorted([*kept, "out.mp4", _part("out.mp4", dead, tag="777777777777")])  # a symlink is not ours


def test_remove_stale_parts_reports_what_it_removed_and_is_safe_on_a_missing_folder(tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    (tmp_path / _part("out.mp4", None)).write_bytes(b"x")
    assert remove_stale_parts(target) == []  # recent, writer unknown: kept
    later = time.time() + STALE_AFTER_S + 1
    assert remove_stale_parts(target, now=later) == [tmp_path / _part("out.mp4", None)]
    assert names(tmp_path) == []
    assert remove_stale_parts(tmp_path / "missing" / "out.mp4") == []


@pytest.mark.parametrize("get", GETTERS)
def test_the_temporary_file_names_its_writer(get: Getter, tmp_path: Path) -> None:
    seen: list[str] = []

    def look(done: int, total: int | None) -> None:
        seen.extend(p.name for p in tmp_path.iterdir())

    get(ok, URL, tmp_path / "out.mp4", progress=look)
    assert seen and seen[0].startswith(f".out.mp4.part-{os.getpid()}-{download_module._HOST_TAG}-")
