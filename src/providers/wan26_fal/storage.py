"""fal's file storage, as the official clients upload to it, served by the mock; files kept on disk.

The fal dialect hands one to each mock engine (``FalDialect.upload_storage``, the ``StorageDialect`` capability).

Routes, as fal-client 1.0.3 (``fal_client/client.py``) and ``@fal-ai/client`` (``libs/client/src/storage.ts``)
call them; the hosts are fal's, the paths are served here on whatever host the client was sent to:

- ``POST /storage/auth/token?storage_type=fal-cdn-v3`` on ``rest.fal.ai`` (``Authorization: Key …``) ->
  ``{token, token_type, base_url, expires_at}`` (``CDNTokenManager``); ``base_url`` is where multipart goes;
- ``POST /files/upload`` on ``v3.fal.media`` (``Authorization: Bearer <token>``, raw bytes, ``X-Fal-File-Name``)
  -> ``{access_url}`` (``_upload_v3``, files up to 100 MB);
- ``POST {base_url}/files/upload/multipart`` -> ``{access_url, uploadId}``; ``PUT {access_url}/multipart/{id}/{n}``
  -> ``ETag`` header; ``POST {access_url}/multipart/{id}/complete`` with ``{parts: [{partNumber, etag}]}``
  (``MultipartUpload``, files over 100 MB);
- ``POST /storage/upload/initiate?storage_type=…`` on ``rest.fal.ai`` -> ``{upload_url, file_url}``, then
  ``PUT upload_url`` (fal-client's ``fal`` fallback repository and the JavaScript client);
  ``POST /storage/upload/initiate-multipart`` -> the same pair, parts ``PUT {upload_url}/{n}`` (answered with
  ``{partNumber, etag}``, which the JavaScript client reads) and ``POST {upload_url}/complete``;
- ``GET``/``HEAD`` of an access URL downloads the file.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import anyio

from wan26core import plugin

__all__ = ["TOKEN_PATH", "FalStorage"]

TOKEN_PATH = "/storage/auth/token"
DEFAULT_CAP = 2 * 1024**3
TOKEN_TTL_S = 3600.0
_OBJECT = re.compile(r"^/files/(?P<folder>[0-9a-f]{16})/(?P<name>[^/]+)$")
_PART = re.compile(r"^/files/(?P<folder>[0-9a-f]{16})/(?P<name>[^/]+)/multipart/(?P<upload>[0-9a-f]{24})/(?P<part>\d{1,5})$")
_COMPLETE = re.compile(r"^/files/(?P<folder>[0-9a-f]{16})/(?P<name>[^/]+)/multipart/(?P<upload>[0-9a-f]{24})/complete$")
_MAX_NAME_BYTES = 200  # of a stored upload's file name; longer names are stored as their hash (suffix kept)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class _Object:
    key: str  # folder/name
    content_type: str
    path: Path
    size: int = 0
    complete: bool = False
    upload_id: str | None = None  # while a multipart upload is open
    parts: dict[int, str] = field(default_factory=dict)  # part number -> etag


class FalStorage:
    """Uploaded files under a private temporary directory, at most ``cap_bytes`` in all."""

    def __init__(self, *, cap_bytes: int = DEFAULT_CAP, directory: Path | None = None) -> None:
        """``directory``: where files go (default: a temporary directory made at the first upload, removed with
        this object)."""
        self.cap_bytes = cap_bytes
        self._directory = Path(directory) if directory else None
        self._objects: dict[str, _Object] = {}
        self._tokens: dict[str, float] = {}  # CDN token -> expiry (wall clock)
        self._lock = threading.Lock()

    @property
    def directory(self) -> Path:
        with self._lock:
            if self._directory is None:
                self._directory = Path(tempfile.mkdtemp(prefix="wan26-mock-uploads-"))
                weakref.finalize(self, shutil.rmtree, str(self._directory), True)
            self._directory.mkdir(parents=True, exist_ok=True)
            return self._directory

    def handles(self, path: str) -> bool:
        return path.startswith(("/storage/", "/files/"))

    def used_bytes(self) -> int:
        with self._lock:
            return sum(o.size for o in self._objects.values())

    def clear(self) -> None:
        with self._lock:
            self._objects.clear()
            self._tokens.clear()
        if self._directory is not None and self._directory.is_dir():
            for child in self._directory.iterdir():
                shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)

    async def handle(
        self, request: plugin.MockRequest, authenticate: Callable[[plugin.MockRequest], plugin.MockResponse | None]
    ) -> plugin.MockResponse:
        """Answer a storage request; ``authenticate`` is the provider's key check (its own 401)."""
        method, path = request.method.upper(), request.path.rstrip("/") or "/"
        if method == "POST" and path in (TOKEN_PATH, "/storage/upload/initiate", "/storage/upload/initiate-multipart"):
            denied = authenticate(request)
            if denied is not None:
                return denied
            if path == TOKEN_PATH:
                return self._token(request)
            return self._initiate(request, multipart=path.endswith("-multipart"))
        if method == "POST" and path in ("/files/upload", "/files/upload/multipart"):
            if not self._token_ok(request):
                return plugin.MockResponse(401, {"detail": "Invalid or expired upload token"})
            if path == "/files/upload":
                return await self._upload(request)
            return self._start_multipart(request)
        if (found := _PART.match(path)) and method == "PUT":
            return await self._put_part(request, found.groupdict())
        if (found := _COMPLETE.match(path)) and method == "POST":
            return await self._complete(request, found.groupdict())
        if found := _OBJECT.match(path):
            if method == "PUT":
                return await self._put_object(request, f"{found['folder']}/{found['name']}")
            if method in ("GET", "HEAD"):
                return self._download(method, f"{found['folder']}/{found['name']}")
        return plugin.MockResponse(404, {"detail": f"no storage route {method} {request.path}"})

    # --- tokens and uploads -----------------------------------------------------------------------
    def _token(self, request: plugin.MockRequest) -> plugin.MockResponse:
        token = secrets.token_urlsafe(24)
        expires = datetime.now(timezone.utc) + timedelta(seconds=TOKEN_TTL_S)
        with self._lock:
            self._tokens[token] = expires.timestamp()
        body = {"token": token, "token_type": "Bearer", "base_url": request.base_url, "expires_at": expires.isoformat()}
        return plugin.MockResponse(200, body)

    def _token_ok(self, request: plugin.MockRequest) -> bool:
        token = plugin.credential(request, "Bearer")
        with self._lock:
            expiry = self._tokens.get(token or "")
        return expiry is not None and expiry > datetime.now(timezone.utc).timestamp()

    def _new_object(self, request: plugin.MockRequest, file_name: str | None, content_type: str | None) -> _Object:
        folder = secrets.token_hex(8)
        name = _UNSAFE.sub("_", Path(file_name or "").name).strip("._") or "upload.bin"
        if len(name.encode("utf-8", "surrogatepass")) > _MAX_NAME_BYTES:  # a file system takes 255 bytes at most
            suffix = Path(name).suffix if len(Path(name).suffix) <= 16 else ""
            name = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:32] + suffix
        key = f"{folder}/{name}"
        obj = _Object(key, content_type or "application/octet-stream", self.directory / folder / name)
        with self._lock:
            self._objects[key] = obj
        return obj

    def _url(self, request: plugin.MockRequest, obj: _Object) -> str:
        return f"{request.base_url}/files/{obj.key}"

    def _initiate(self, request: plugin.MockRequest, *, multipart: bool) -> plugin.MockResponse:
        body = plugin.json_body(request) if request.body else {}
        if not plugin.is_json(body) or not isinstance(body, dict):
            detail = [{"loc": ["body"], "msg": "Input should be a valid dictionary", "type": "dict_type"}]
            return plugin.MockResponse(422, {"detail": detail})
        file_name, content_type = body.get("file_name"), body.get("content_type")
        obj = self._new_object(request, file_name if isinstance(file_name, str) else None, _text(content_type))
        url = self._url(request, obj)
        if not multipart:
            return plugin.MockResponse(200, {"upload_url": url, "file_url": url})
        obj.upload_id = secrets.token_hex(12)
        return plugin.MockResponse(200, {"upload_url": f"{url}/multipart/{obj.upload_id}", "file_url": url})

    async def _upload(self, request: plugin.MockRequest) -> plugin.MockResponse:
        obj = self._new_object(request, request.headers.get("x-fal-file-name"), request.headers.get("content-type"))
        refused = await self._write(obj, request.body)
        return refused or plugin.MockResponse(200, {"access_url": self._url(request, obj)})

    def _start_multipart(self, request: plugin.MockRequest) -> plugin.MockResponse:
        obj = self._new_object(request, request.headers.get("x-fal-file-name"), request.headers.get("content-type"))
        obj.upload_id = secrets.token_hex(12)
        return plugin.MockResponse(200, {"access_url": self._url(request, obj), "uploadId": obj.upload_id})

    async def _put_object(self, request: plugin.MockRequest, key: str) -> plugin.MockResponse:
        obj = self._objects.get(key)
        if obj is None or obj.complete or obj.upload_id is not None:
            return plugin.MockResponse(404, {"detail": "No upload was initiated for this URL"})
        if request.headers.get("content-type"):
            obj.content_type = request.headers["content-type"]
        return await self._write(obj, request.body) or plugin.MockResponse(200, b"", {"content-length": "0"})

    async def _put_part(self, request: plugin.MockRequest, found: dict[str, str]) -> plugin.MockResponse:
        obj = self._objects.get(f"{found['folder']}/{found['name']}")
        number = int(found["part"])
        if obj is None or obj.upload_id != found["upload"]:
            return plugin.MockResponse(404, {"detail": "No such multipart upload"})
        if not 1 <= number <= 10_000:
            return plugin.MockResponse(400, {"detail": "part numbers run from 1 to 10000"})
        if self.used_bytes() + len(request.body) > self.cap_bytes:
            return _too_large(self.cap_bytes)
        part = obj.path.parent / f".{obj.upload_id}.{number}"
        await anyio.to_thread.run_sync(_write_file, part, request.body)
        etag = f'"{hashlib.md5(request.body).hexdigest()}"'  # an ETag, not a security measure
        obj.parts[number] = etag
        obj.size += len(request.body)  # counted against the cap until the parts are joined
        return plugin.MockResponse(200, {"partNumber": number, "etag": etag}, {"etag": etag})

    async def _complete(self, request: plugin.MockRequest, found: dict[str, str]) -> plugin.MockResponse:
        obj = self._objects.get(f"{found['folder']}/{found['name']}")
        if obj is None or obj.upload_id != found["upload"]:
            return plugin.MockResponse(404, {"detail": "No such multipart upload"})
        body = plugin.json_body(request)
        listed = body.get("parts") if isinstance(body, dict) else None
        if not isinstance(listed, list) or not listed:
            return plugin.MockResponse(400, {"detail": "parts: a non-empty list of {partNumber, etag} is required"})
        order: list[int] = []
        for item in listed:
            number = item.get("partNumber") if isinstance(item, dict) else None
            if not isinstance(number, int) or obj.parts.get(number) != item.get("etag"):
                return plugin.MockResponse(400, {"detail": f"part {number!r}: unknown part or wrong etag"})
            order.append(number)
        sources = [obj.path.parent / f".{obj.upload_id}.{n}" for n in sorted(order)]
        obj.size = await anyio.to_thread.run_sync(_concatenate, sources, obj.path)
        obj.upload_id, obj.parts, obj.complete = None, {}, True
        return plugin.MockResponse(200, {"access_url": self._url(request, obj)})

    async def _write(self, obj: _Object, data: bytes) -> plugin.MockResponse | None:
        if self.used_bytes() + len(data) > self.cap_bytes:
            with self._lock:
                self._objects.pop(obj.key, None)
            return _too_large(self.cap_bytes)
        await anyio.to_thread.run_sync(_write_file, obj.path, data)
        obj.size, obj.complete = len(data), True
        return None

    def _download(self, method: str, key: str) -> plugin.MockResponse:
        obj = self._objects.get(key)
        if obj is None or not obj.complete or not obj.path.is_file():
            return plugin.MockResponse(404, {"detail": "File not found"})
        headers = {"content-type": obj.content_type, "content-length": str(obj.size)}
        if method == "HEAD":
            return plugin.MockResponse(200, b"", headers)
        return plugin.MockStream(200, plugin.file_chunks(obj.path), headers)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _too_large(cap: int) -> plugin.MockResponse:
    return plugin.MockResponse(413, {"detail": f"the mock keeps at most {cap} bytes of uploads"})


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _concatenate(sources: list[Path], target: Path) -> int:
    size = 0
    with target.open("wb") as out:
        for source in sources:
            with source.open("rb") as part:
                size += out.write(part.read())
            source.unlink()
    return size
