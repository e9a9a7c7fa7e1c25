"""Checking a reference's source (a URL, a data URI or a local file): the schemes and hosts a provider may be sent, the
bytes a file really holds, and the media limits when probing is on. The client's pre-flight rules (https only, no
internal host, files read byte by byte) are off inside :func:`provider_side`, where the mock judges a wire body."""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import os
import re
import socket
import stat
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

from wan26core._rules.request import DATA_URI, source_format, source_type

_BASE64 = re.compile(r"[A-Za-z0-9+/\s]*={0,2}\s*")

__all__ = ["check_source", "client_rules", "provider_side", "sniff", "trusted_sources"]


_METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"})
#: cloud metadata services outside the link-local ranges: Alibaba Cloud (DashScope's home) and AWS over IPv6
_METADATA_ADDRESSES = frozenset({ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("fd00:ec2::254")})
_NUMERIC_HOST = re.compile(r"[0-9][0-9a-fx.]*")
#: base64 characters of a data URI decoded for the content sniff (about 3 KB of data)
_DATA_SNIFF_CHARS = 4096


#: URLs the provider's own storage issued for our uploads (plain http on a local mock): not the user's sources
_TRUSTED: ContextVar[frozenset[str]] = ContextVar("wan26_trusted_sources", default=frozenset())


#: the client's pre-flight rules for sources (https only, no link-local host, local files checked byte by byte);
#: off where a wire body is checked as the provider would (the mock), since providers take plain http too
_strict_sources: ContextVar[bool] = ContextVar("wan26_strict_sources", default=True)


def client_rules() -> bool:
    """Whether the client's pre-flight rules for sources apply here (not inside :func:`provider_side`)."""
    return _strict_sources.get()


@contextlib.contextmanager
def trusted_sources(urls: Iterable[str]) -> Iterator[None]:
    """Within the block, ``urls`` (issued by a provider's storage for our uploads) pass the source-scheme rules."""
    token = _TRUSTED.set(_TRUSTED.get() | frozenset(urls))
    try:
        yield
    finally:
        _TRUSTED.reset(token)


@contextlib.contextmanager
def provider_side() -> Iterator[None]:
    """Within the block, sources are judged as a provider judges a wire body: no client pre-flight rules."""
    token = _strict_sources.set(False)
    try:
        yield
    finally:
        _strict_sources.reset(token)


def check_source(
    source: str,
    limit: dict[str, Any] | None,
    prefix: str,
    path: str,
    source_rule: str,
    probe: bool,
    add: Callable[..., None],
) -> None:
    """Syntax, declared format and (for local files and data URIs) size; content when probing."""
    if not source.strip():
        add(path, source_rule, "the source is empty")
        return
    kind = source_type(source)
    declared = source_format(source)
    formats = limit["formats"] if limit else None
    if formats and declared and declared not in formats:
        add(
            path,
            f"{prefix}.format",
            f"format {declared} is not accepted; accepted: {', '.join(formats)}",
            limit=formats,
            value=declared,
        )
    max_bytes = limit.get("max_bytes") if limit else None
    declared_refused = bool(formats and declared and declared not in formats)  # one fault, one violation
    if kind == "url":
        try:
            parts = urlsplit(source)
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError:
            add(path, source_rule, "not a valid https URL", value=source)
            return
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            add(
                path,
                source_rule,
                f"unsupported URL scheme {parts.scheme!r}; use https, a data URI or a local file",
                value=source,
            )
        elif not parts.netloc or any(c.isspace() for c in source):
            add(path, source_rule, "not a valid https URL", value=source)
        elif source in _TRUSTED.get():
            return  # issued by the provider's own storage for an upload of ours
        elif _strict_sources.get() and scheme == "http":
            add(
                path, "source.scheme", "plain http is refused: a source is an https URL, a data URI or a local file", value=source
            )
        elif _strict_sources.get() and _internal_host(parts.hostname or ""):
            add(
                path,
                "source.host",
                f"{parts.hostname} is a link-local or metadata address, never a media host; refused",
                value=source,
            )
        elif probe and limit and not declared_refused:
            from wan26core._media import probe_url

            _check_media(probe_url(source, max_bytes), limit, prefix, path, add)
        return
    if kind == "data":
        match = DATA_URI.match(source[:256])
        if limit is not None and limit.get("data_uri") is False:
            add(path, f"{prefix}.data_uri", "this provider does not accept data URIs here; use a URL or a local file")
        if not match or not match.group("b64"):
            add(path, source_rule, "a data URI must look like data:<mime>;base64,<data>", value=source)
            return
        payload = source[match.end() :]
        if not _BASE64.fullmatch(payload):
            add(path, source_rule, "the data URI's payload is not base64", value=source)
            return
        size = len(payload.rstrip("=\n ")) * 3 // 4
        if max_bytes and size > max_bytes:
            add(path, f"{prefix}.max_bytes", f"{size} bytes; at most {max_bytes}", limit=max_bytes, value=size)
        elif _strict_sources.get() and not _data_content_ok(payload, formats, declared_refused, prefix, path, source_rule, add):
            return
        elif probe and limit and not declared_refused:
            from wan26core._media import probe_bytes

            _check_media(probe_bytes(source), limit, prefix, path, add)
        return
    if not _strict_sources.get():  # a path in a wire body: nothing the provider can fetch (and no file of the host's)
        add(path, source_rule, "not a URL: the provider cannot read a local path", value=source)
        return
    _check_local_file(source, limit, formats, max_bytes, prefix, path, source_rule, probe, declared_refused, add)


def _data_content_ok(
    payload: str,
    formats: list[str] | None,
    declared_refused: bool,
    prefix: str,
    path: str,
    source_rule: str,
    add: Callable[..., None],
) -> bool:
    """A data URI's bytes are what its MIME type claims, by the magic-byte sniff of local files (the first few KB
    only are decoded); False after reporting an empty payload or a content that is not accepted."""
    head_text = "".join(payload[:_DATA_SNIFF_CHARS].split())
    head = base64.b64decode(head_text[: len(head_text) // 4 * 4])
    if not head:
        add(path, source_rule, "the data URI holds no data", value=_short_source(payload))
        return False
    if declared_refused or not formats:
        return True
    content = sniff(head)
    if content in formats:
        return True
    accepted = ", ".join(formats)
    message = (
        f"the data URI's content is not a media file wan26 recognises; accepted: {accepted}"
        if content is None
        else f"the data URI's content is {content}, whatever its MIME type says; accepted: {accepted}"
    )
    add(path, f"{prefix}.format", message, limit=formats, value=content)
    return False


def _short_source(payload: str) -> str:
    return payload if len(payload) <= 40 else payload[:39] + "…"


def _check_local_file(
    source: str,
    limit: dict[str, Any] | None,
    formats: list[str] | None,
    max_bytes: int | None,
    prefix: str,
    path: str,
    source_rule: str,
    probe: bool,
    declared_refused: bool,
    add: Callable[..., None],
) -> None:
    """A local file: it exists, is a regular file, fits the size limit and its bytes are what the contract accepts."""
    try:
        info = os.stat(source)
    except FileNotFoundError:
        add(path, source_rule, "no such local file (a source is an https URL, a data URI or an existing file)", value=source)
        return
    except ValueError:  # a NUL byte: no file can have this name
        add(path, source_rule, "not a usable file name (it holds a NUL character)", value=source)
        return
    except OSError as exc:
        add(path, "source.unreadable", f"cannot read the local file: {exc.strerror or exc}", value=source)
        return
    if not stat.S_ISREG(info.st_mode):
        what = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file (a device, pipe or socket)"
        add(path, "source.not_file", f"the local source is {what}; give a media file", value=source)
        return
    size = info.st_size
    if max_bytes and size > max_bytes:
        add(path, f"{prefix}.max_bytes", f"{size} bytes; at most {max_bytes}", limit=max_bytes, value=size)
        return
    try:
        with open(source, "rb") as handle:
            head = handle.read(64)
    except OSError as exc:
        add(path, "source.unreadable", f"cannot read the local file: {exc.strerror or exc}", value=source)
        return
    if declared_refused or not formats:
        return
    content = sniff(head)
    if content is None:
        add(
            path,
            f"{prefix}.format",
            f"the file's content is not a media file wan26 recognises; accepted: {', '.join(formats)}",
            limit=formats,
            value=source,
        )
        return
    if content not in formats:
        add(
            path,
            f"{prefix}.format",
            f"the file's content is {content}, whatever its name says; accepted: {', '.join(formats)}",
            limit=formats,
            value=content,
        )
        return
    if probe and limit:
        from wan26core._media import probe_file

        _check_media(probe_file(source), limit, prefix, path, add)


def _internal_host(host: str) -> bool:
    """Link-local (169.254/16, fe80::/10), unspecified and cloud metadata addresses: never where media lives."""
    name = host.strip("[]").lower().rstrip(".")
    if name in _METADATA_HOSTS:
        return True
    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        if not _NUMERIC_HOST.fullmatch(name):
            return False
        try:  # the shorthand forms resolvers accept: 2852039166, 0xa9fea9fe, 0251.0376.0251.0376, 169.254.43518
            address = ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            address = embedded
    return address.is_link_local or address.is_unspecified or address in _METADATA_ADDRESSES


def sniff(head: bytes) -> str | None:
    """The media format of a file from its first bytes (the formats the contracts list, and a few look-alikes)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"BM") and len(head) >= 14:
        return "bmp"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return "mov"
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"avif"):
            return "heic"
        return "mp4"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    if head.startswith(b"ID3") or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06):
        return "mp3"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"fLaC"):
        return "flac"
    return None


def _check_media(info: Any, limit: dict[str, Any], prefix: str, path: str, add: Callable[..., None]) -> None:
    """Compare probed media facts (:class:`wan26core._media.MediaInfo`) with the contract's limits."""
    max_bytes = limit.get("max_bytes")
    if max_bytes and info.size > max_bytes:  # a download stopped past the limit
        add(path, f"{prefix}.max_bytes", f"more than {max_bytes} bytes", limit=max_bytes, value=info.size)
        return
    if info.format not in limit["formats"]:
        add(
            path,
            f"{prefix}.format",
            f"the content is {info.format}; accepted: {', '.join(limit['formats'])}",
            limit=limit["formats"],
            value=info.format,
        )
        return
    for axis in ("width", "height"):
        bound, value = limit.get(axis), getattr(info, axis)
        if bound and value is not None and not _within(value, bound):
            add(path, f"{prefix}.{axis}", f"{axis} {value}px is outside {_span(bound)} px", limit=bound, value=value)
    if limit.get("alpha") is False and info.alpha:
        add(path, f"{prefix}.alpha", "the image has an alpha channel (transparency), which is refused", value=True)
    for key, attr, unit in (("duration_s", "duration", "s"), ("fps", "fps", " fps")):
        bound, value = limit.get(key), getattr(info, attr)
        if bound and value is not None and not _within(value, bound):
            add(path, f"{prefix}.{key}", f"{value:g}{unit} is outside {_span(bound)}{unit}", limit=bound, value=value)


def _within(value: float, bound: dict[str, float]) -> bool:
    return bound.get("min", float("-inf")) <= value <= bound.get("max", float("inf"))


def _span(bound: dict[str, float]) -> str:
    return f"{bound.get('min', '-')}..{bound.get('max', '-')}"
