"""Streaming, atomic download of a result file.

The body is streamed into a hidden temporary file next to the target (``.{name}.part-<pid>-<host>-<random>``),
hashed and counted on the way, fsynced, checked against ``Content-Length`` and the caller's ``expected_size``,
and only then renamed to the target name. Whatever goes wrong — an HTTP error, a short body, a dropped
connection, Ctrl-C — the temporary file is removed and nothing ever appears under the target name.

A process killed outright (SIGKILL, a power cut) cannot remove its temporary file; the next download to the
same target does: it removes those whose writer is gone (same host, process id no longer running) and, whatever
their origin, those untouched for :data:`STALE_AFTER_S`. A file another live process is writing is never removed.

All of this is shared; :func:`download` and :func:`adownload` repeat only the streaming itself, which is httpx's
blocking or awaitable I/O.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import shutil
import socket
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import httpx

from wan26core._errors import DownloadError

__all__ = [
    "STALE_AFTER_S",
    "DownloadedFile",
    "ProgressCallback",
    "adownload",
    "disk_error",
    "download",
    "free_bytes",
    "remove_stale_parts",
    "target_problem",
]

#: ``progress(bytes_so_far, total_or_None)``, called once before the first chunk and after every chunk.
ProgressCallback = Callable[[int, int | None], None]
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=15.0)
#: a temporary file not written to for this long is abandoned whoever wrote it (a live download writes every chunk)
STALE_AFTER_S = 24 * 3600.0
#: the part after ``.part-``: ``<pid>-<host tag>-<random>``, or the older ``<random>`` (no writer recorded)
_PART_SUFFIX = re.compile(r"(?:(?P<pid>[0-9]{1,10})-(?P<host>[0-9a-f]{8})-)?[0-9a-f]{12}\Z")


@dataclass(frozen=True)
class DownloadedFile:
    """A file that is completely on disk under ``path``: its size in bytes, sha256 (hex) and served content type."""

    path: Path
    size: int
    sha256: str
    content_type: str | None


def download(
    url: str, path: str | os.PathLike[str], *, client: httpx.Client | None = None, expected_size: int | None = None,
    headers: Mapping[str, str] | None = None, chunk_size: int = 1 << 20, overwrite: bool = False,
    progress: ProgressCallback | None = None,
) -> DownloadedFile:  # fmt: skip
    """Download ``url`` to ``path`` atomically; raises :class:`DownloadError` (nothing left behind) on any failure.

    ``client`` is used as given (redirects followed) and left open; without one, a client is made and closed.
    ``progress(bytes_so_far, total_or_None)`` is called once before the first chunk and after every chunk.
    """
    target = _prepare(path, overwrite, chunk_size, expected_size)
    http = client if client is not None else httpx.Client(timeout=DEFAULT_TIMEOUT, follow_redirects=True)
    owned = contextlib.closing(http) if client is None else contextlib.nullcontext(http)
    with (
        _as_download_errors(url, target),
        owned,
        http.stream("GET", url, headers=dict(headers or {}), follow_redirects=True) as response,
        _Sink(target, url, response, expected_size, progress) as sink,
    ):
        for chunk in response.iter_bytes(chunk_size):
            sink.write(chunk)
        return sink.finish(overwrite)


async def adownload(
    url: str, path: str | os.PathLike[str], *, client: httpx.AsyncClient | None = None, expected_size: int | None = None,
    headers: Mapping[str, str] | None = None, chunk_size: int = 1 << 20, overwrite: bool = False,
    progress: ProgressCallback | None = None,
) -> DownloadedFile:  # fmt: skip
    """The asynchronous :func:`download`: the same checks, the same guarantees."""
    target = _prepare(path, overwrite, chunk_size, expected_size)
    http = client if client is not None else httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, follow_redirects=True)
    owned = contextlib.aclosing(http) if client is None else contextlib.nullcontext(http)
    with _as_download_errors(url, target):
        async with owned, http.stream("GET", url, headers=dict(headers or {}), follow_redirects=True) as response:
            with _Sink(target, url, response, expected_size, progress) as sink:
                async for chunk in response.aiter_bytes(chunk_size):
                    sink.write(chunk)
                return sink.finish(overwrite)


# --- the shared machinery --------------------------------------------------------------------------------


@contextlib.contextmanager
def _as_download_errors(url: str, target: Path) -> Iterator[None]:
    """A failure of the network or of the disk (full, read-only, no permission) as a :class:`DownloadError`."""
    try:
        yield
    except httpx.HTTPError as exc:
        raise _transport_error(url, exc) from exc
    except OSError as exc:
        raise disk_error(target, exc) from None


def _prepare(path: str | os.PathLike[str], overwrite: bool, chunk_size: int, expected_size: int | None = None) -> Path:
    """The target path, checked before a byte is requested; its directory is created when missing."""
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be > 0, not {chunk_size}")
    target = Path(path)
    problem = target_problem(target, overwrite)
    if problem is not None:
        raise DownloadError(problem)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise disk_error(target, exc) from None
    if expected_size is not None:
        free = free_bytes(target.parent)
        if free is not None and free < expected_size:
            raise DownloadError(
                f"not enough space for {target}: the video is {expected_size} bytes and {free} are free; free some space"
                " or give another -o path"
            )
    remove_stale_parts(target)
    return target


def target_problem(target: Path, overwrite: bool) -> str | None:
    """Why ``target`` cannot receive a download (a directory, a device, an existing file without overwrite), or None."""
    try:
        info = os.stat(target)
    except (FileNotFoundError, NotADirectoryError):
        if os.path.islink(target) and not overwrite:  # dangling: replaced (as a link, never followed) only on request
            return f"{target} is a symbolic link to a missing file; pass overwrite=True (CLI: --overwrite) to replace it"
        return None
    except OSError as exc:
        return f"cannot use {target}: {exc.strerror or exc}"
    if stat.S_ISDIR(info.st_mode):
        return f"cannot download to {target}: it is a directory; give a file name"
    if not stat.S_ISREG(info.st_mode):
        return f"cannot download to {target}: it is not a regular file (a device, pipe or socket) and is never replaced"
    if not overwrite:
        return f"{target} already exists; pass overwrite=True (CLI: --overwrite) to replace it"
    return None


def free_bytes(folder: Path) -> int | None:
    """Free bytes on the file system of ``folder`` (its nearest existing ancestor); None when unknown."""
    for candidate in (folder, *folder.parents):
        try:
            return shutil.disk_usage(candidate).free
        except OSError:
            continue
    return None


def disk_error(target: Path, exc: OSError) -> DownloadError:
    """A download's disk failure in words: which folder, what went wrong, what to do (nothing is left behind)."""
    folder = target.parent
    reasons = {
        errno.ENOSPC: f"no space left on the device holding {folder}; free some space or give another -o path",
        errno.EROFS: f"{folder} is on a read-only file system; give another -o path",
        errno.EACCES: f"no permission to write in {folder}; give another -o path",
        errno.EPERM: f"no permission to write in {folder}; give another -o path",
        errno.EDQUOT: f"the disk quota for {folder} is exhausted; free some space or give another -o path",
    }
    reason = reasons.get(exc.errno or 0, f"{exc.strerror or exc} ({folder})")
    return DownloadError(f"cannot save {target.name}: {reason}")


def remove_stale_parts(target: str | os.PathLike[str], *, now: float | None = None) -> list[Path]:
    """Remove the temporary files of earlier downloads to ``target`` whose writer is gone; returns those removed.

    One is removed when the process named in its name ran on this host and is no longer alive, or when it has
    not been modified for :data:`STALE_AFTER_S`. Only regular files named exactly like this module's temporary
    files of ``target`` are considered (not symlinks, not another target's files).
    """
    target = Path(target)
    prefix = f".{target.name}.part-"
    clock = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        match = _PART_SUFFIX.match(entry.name, len(prefix))
        if match is None:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            age = clock - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        pid, host = match.group("pid"), match.group("host")
        orphan = pid is not None and host == _HOST_TAG and not _alive(int(pid))
        if orphan or age > STALE_AFTER_S:
            try:
                os.unlink(entry.path)
            except OSError:  # gone already (another cleaner), or not ours to remove
                continue
            removed.append(Path(entry.path))
    return removed


def _host_tag() -> str:
    """8 hex digits naming this host, so that a process id is only ever checked on the host that wrote it."""
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


_HOST_TAG = _host_tag()


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host; True when that cannot be known (not POSIX, or in doubt)."""
    if os.name != "posix" or pid <= 0:
        return True  # on Windows os.kill(pid, 0) would terminate the process: never probe there
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, owned by someone else
        return True
    return True


def _where(url: str) -> str:
    """The URL without its query and fragment: signed download URLs carry credentials there."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{parts.path}" if parts.scheme else "<url>"


def _transport_error(url: str, exc: httpx.HTTPError) -> DownloadError:
    return DownloadError(f"download from {_where(url)} interrupted: {type(exc).__name__}: {exc}", retryable=True)


class _Sink:
    """The temporary file of one download: counts, hashes, reports progress, then commits or removes itself."""

    def __init__(
        self,
        target: Path,
        url: str,
        response: httpx.Response,
        expected_size: int | None,
        progress: ProgressCallback | None,
    ) -> None:
        self.target = target
        self.response = response
        self.expected_size = expected_size
        self.progress = progress
        self.size = 0
        self.digest = hashlib.sha256()
        self.temp: Path | None = None
        self.file: BinaryIO | None = None
        if not response.is_success:
            status = response.status_code
            raise DownloadError(
                f"download from {_where(url)} failed: HTTP {status} {response.reason_phrase}".rstrip(),
                http_status=status,
                retryable=status == 429 or status >= 500,
            )
        self.declared = _content_length(response)
        self.total = self.declared if self.declared is not None else expected_size
        free = free_bytes(target.parent) if self.total is not None else None
        if free is not None and self.total is not None and free < self.total:
            raise DownloadError(
                f"not enough space for {target}: the video is {self.total} bytes and {free} are free; free some space"
                " or give another -o path"
            )

    def __enter__(self) -> _Sink:
        for _ in range(10):  # a random name; a clash (practically impossible) just draws again
            temp = self.target.with_name(f".{self.target.name}.part-{os.getpid()}-{_HOST_TAG}-{secrets.token_hex(6)}")
            try:
                self.file = open(temp, "xb")
            except FileExistsError:
                continue
            self.temp = temp
            break
        else:  # pragma: no cover
            raise DownloadError(f"cannot create a temporary file next to {self.target}")
        if self.progress is not None:
            self.progress(0, self.total)
        return self

    def write(self, chunk: bytes) -> None:
        assert self.file is not None
        self.file.write(chunk)
        self.digest.update(chunk)
        self.size += len(chunk)
        if self.progress is not None:
            self.progress(self.size, self.total)

    def finish(self, overwrite: bool) -> DownloadedFile:
        """Flush, fsync and check the sizes, then move the temporary file to the target name."""
        assert self.file is not None and self.temp is not None
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        if self.declared is not None and self.size != self.declared:
            raise DownloadError(f"size mismatch: Content-Length says {self.declared} bytes, {self.size} bytes received")
        if self.expected_size is not None and self.size != self.expected_size:
            raise DownloadError(f"size mismatch: expected {self.expected_size} bytes, {self.size} bytes received")
        _commit(self.temp, self.target, overwrite)
        self.temp = None
        return DownloadedFile(
            path=self.target,
            size=self.size,
            sha256=self.digest.hexdigest(),
            content_type=self.response.headers.get("content-type"),
        )

    def __exit__(self, *exc: object) -> None:
        """Close and remove the temporary file unless :meth:`finish` committed it (any exception, Ctrl-C included)."""
        if self.file is not None and not self.file.closed:
            self.file.close()
        if self.temp is not None:
            with contextlib.suppress(OSError):
                self.temp.unlink()
            self.temp = None


def _content_length(response: httpx.Response) -> int | None:
    """The declared size of the bytes we store; unknown when a content coding (gzip …) makes it the encoded size."""
    if response.headers.get("content-encoding", "identity").strip().lower() not in ("", "identity"):
        return None
    value = response.headers.get("content-length")
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        return None
    return length if length >= 0 else None


def _commit(temp: Path, target: Path, overwrite: bool) -> None:
    """Atomically give ``temp`` the target name; without ``overwrite`` a file that appeared meanwhile is kept."""
    if overwrite:
        problem = target_problem(target, True)  # it may have changed since the download began
        if problem is not None:
            raise DownloadError(problem)
        os.replace(temp, target)  # replaces a regular file (or a symlink itself), never a device or a directory
    else:
        try:
            os.link(temp, target)  # fails atomically if the target exists
        except FileExistsError:
            raise DownloadError(f"{target} already exists; pass overwrite=True (CLI: --overwrite) to replace it") from None
        except OSError:  # no hard links on this file system: check, then rename
            if target.exists():
                raise DownloadError(f"{target} already exists; pass overwrite=True (CLI: --overwrite) to replace it") from None
            os.replace(temp, target)
        else:
            temp.unlink()
    _fsync_dir(target.parent)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
