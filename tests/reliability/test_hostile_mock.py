"""Hostile input to the mock over a real socket, for every provider: huge bodies, huge data URIs, deeply nested JSON,
invalid UTF-8, wrong content types, path traversal in the file routes and header injection.

The mock runs in a process of its own (``python -m wan26_mock``), so its memory is measured alone. Asserted: never a
5xx; a refused submit is refused in the provider's own error shape (its keys are those of the contract's catalogued
error bodies, and the provider's client protocol reads it as a ValidationError carrying the native code); nothing
outside the mock's stores is served; no injected header comes back; the process's peak RSS grows by less than a
kept body's worth (a body announced too big is not kept at all); the canary key never reaches the mock's journal.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from relykit import CANARY, PROVIDERS, report

from support import CONTRACTS
from support import PROVIDERS as PLUGINS
from wan26core import GenerationRequest, ValidationError
from wan26core._protocol import ContractClientProtocol, HttpReply

MIB = 2**20
OVER_LIMIT = 65 * MIB  # the mock keeps submit bodies up to 64 MiB


@dataclass
class Mock:
    base_url: str
    process: subprocess.Popen[bytes]

    def rss(self, key: str = "VmHWM") -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"no {key}")


@pytest.fixture(scope="module")
def mock() -> Iterator[Mock]:
    fd, name = tempfile.mkstemp(prefix="wan26-hostile-", suffix=".log")
    log = Path(name)
    with os.fdopen(fd, "wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "wan26_mock", "--port", "0", "--seed", "3", "--time-scale", "20"],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while not (found := re.search(r"serving .* on (http://\S+)", log.read_text())):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield Mock(found.group(1), process)
    finally:
        process.terminate()
        process.wait(10)
        log.unlink(missing_ok=True)


def protocol(pid: str) -> Any:
    plugin = PLUGINS[pid]
    return getattr(plugin, "protocol", None) or ContractClientProtocol(plugin.contract)


def native_keys(pid: str) -> set[str]:
    """Top-level keys of the provider's catalogued error bodies and recorded error answers."""
    contract = CONTRACTS[pid]
    bodies = [e.get("body") for e in contract.data["errors"]]
    bodies += [e["body"] for e in contract.data["examples"] if e["kind"] == "error_response"]
    return {key for body in bodies if isinstance(body, dict) for key in body}


def submit_parts(pid: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """(URL path, headers with the canary key, a valid wire body) of the provider's submit."""
    request = GenerationRequest.from_dict(
        {"prompt": "@cat waves", "references": [{"name": "cat", "source": "https://example.com/cat.mp4"}], "duration": 5}
    )
    wire = PLUGINS[pid].render(request)
    call = protocol(pid).submit_call(wire, key=CANARY, base_url="")
    return call.url, dict(call.headers), dict(wire.body)


def assert_native_refusal(pid: str, answer: httpx.Response) -> None:
    assert answer.status_code < 500 and "x-wan26-mock-bug" not in answer.headers, (answer.status_code, answer.text[:300])
    body = answer.json()
    assert isinstance(body, dict) and body and set(body) <= native_keys(pid), body
    reply = HttpReply(answer.status_code, {k.lower(): v for k, v in answer.headers.items()}, answer.content)
    with pytest.raises(ValidationError) as refused:
        protocol(pid).parse_submitted(reply)
    assert refused.value.native_code


def post(mock: Mock, pid: str, content: Any, **headers: str) -> httpx.Response:
    path, base_headers, _ = submit_parts(pid)
    return httpx.post(mock.base_url + path, content=content, headers={**base_headers, **headers}, timeout=60)


def raw(mock: Mock, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (what httpx refuses to send); (status, lower-case headers, body) of the answer."""
    parts = urlsplit(mock.base_url)
    with socket.create_connection((parts.hostname, parts.port or 80), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


# --- huge bodies -------------------------------------------------------------------------------------
def test_bodies_over_the_limit_are_refused_natively_and_memory_stays_bounded(mock: Mock) -> None:
    httpx.get(mock.base_url + "/__wan26__/health").raise_for_status()
    before = mock.rss()
    huge = b'{"prompt": "' + b"a" * OVER_LIMIT + b'"}'
    for pid in PROVIDERS:  # announced by Content-Length: refused without keeping a byte
        assert_native_refusal(pid, post(mock, pid, huge))
    del huge
    announced = mock.rss() - before

    def chunks() -> Iterator[bytes]:  # no Content-Length: kept up to the limit, then dropped
        yield b'{"prompt": "'
        for _ in range(OVER_LIMIT // MIB):
            yield b"a" * MIB
        yield b'"}'

    assert_native_refusal("fal/r2v-flash", post(mock, "fal/r2v-flash", chunks()))
    streamed = mock.rss() - before
    assert announced < 16 * MIB, announced / MIB
    assert streamed < 96 * MIB, streamed / MIB  # at most the 64 MiB kept, never a copy on top
    report(
        "hostile_memory",
        {
            "body_mib": OVER_LIMIT / MIB,
            "announced_growth_mib": round(announced / MIB, 1),
            "chunked_growth_mib": round(streamed / MIB, 1),
        },
    )


@pytest.mark.parametrize("pid", PROVIDERS)
def test_a_huge_data_uri_is_judged_by_the_contract_quickly(mock: Mock, pid: str) -> None:
    _, _, body = submit_parts(pid)
    uri = "data:video/mp4;base64," + "A" * (20 * MIB)
    text = json.dumps(body).replace("https://example.com/cat.mp4", uri)
    began = time.monotonic()
    answer = post(mock, pid, text.encode())
    assert time.monotonic() - began < 10
    assert answer.status_code < 500, answer.text[:300]
    if answer.status_code >= 300 or "error" in answer.text[:200]:
        assert_native_refusal(pid, answer)


# --- malformed bodies --------------------------------------------------------------------------------
MALFORMED = {
    "nested past the stack": b"[" * 100_000 + b"]" * 100_000,
    "nested objects": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "invalid UTF-8": b'{"prompt": "\xff\xfe\xfd"}',
    "a NUL": b"\x00",
    "not JSON": b"prompt=hello&model=wan",
    "a JSON string": b'"hello"',
    "a huge number": b"1" * 5000,
}


@pytest.mark.parametrize("pid", PROVIDERS)
@pytest.mark.parametrize("what", sorted(MALFORMED))
def test_malformed_bodies_get_the_native_refusal(mock: Mock, pid: str, what: str) -> None:
    assert_native_refusal(pid, post(mock, pid, MALFORMED[what]))


@pytest.mark.parametrize("pid", PROVIDERS)
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None])
def test_wrong_content_types_never_break_the_mock(mock: Mock, pid: str, content_type: str | None) -> None:
    path, headers, body = submit_parts(pid)
    headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    if content_type is not None:
        headers["content-type"] = content_type
    answer = httpx.post(mock.base_url + path, content=json.dumps(body).encode(), headers=headers)
    assert answer.status_code < 500  # the mock reads the body as JSON whatever it is labelled (lenient, like a proxy)
    if answer.status_code >= 400:
        assert_native_refusal(pid, answer)


# --- the file routes ---------------------------------------------------------------------------------
TRAVERSALS = [
    "/__wan26__/files/../../../../etc/passwd",
    "/__wan26__/files/..%2f..%2f..%2fetc%2fpasswd",
    "/__wan26__/files/%2e%2e%2f%2e%2e%2fetc%2fpasswd.mp4",
    "/__wan26__/files/..%5c..%5cetc%5cpasswd.mp4",
    "/__wan26__/files/.hidden.mp4",
    "/__wan26__/files/%00.mp4",
    "/__wan26__/files//etc/passwd",
    "/files/0123456789abcdef/..%2f..%2f..%2fetc%2fpasswd",
    "/files/0123456789abcdef/../../etc/passwd",
    "/files/../../etc/passwd",
    "/storage/../../etc/passwd",
]


def test_path_traversal_in_the_file_routes_reaches_nothing(mock: Mock) -> None:
    # a real result file first: the route works, so its refusals below mean something
    path, headers, body = submit_parts("fal/r2v-flash")
    job = httpx.post(mock.base_url + path, json=body, headers=headers).json()
    deadline = time.monotonic() + 20
    while (status := httpx.get(job["status_url"], headers=headers).json())["status"] != "COMPLETED":
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    video = httpx.get(job["response_url"], headers=headers).json()["video"]["url"]
    assert httpx.get(video).content[4:8] == b"ftyp"
    name = urlsplit(video).path.rsplit("/", 1)[1]
    for target in [*TRAVERSALS, f"/__wan26__/files/..%2f{name}", f"/__wan26__/files/x/../{name}"]:
        for method in ("GET", "HEAD"):
            status, _, answer = raw(mock, f"{method} {target} HTTP/1.1\r\nHost: mock\r\nConnection: close\r\n\r\n".encode())
            assert status in (400, 404), (target, status, answer[:200])
            assert b"root:" not in answer and b"ftyp" not in answer[:16], target


# --- headers -------------------------------------------------------------------------------------------
def _injections(mock: Mock) -> list[bytes]:
    fal, _, _ = submit_parts("fal/r2v-flash")
    key = f"Authorization: Key {CANARY}\r\n".encode()
    return [
        b"GET /wan/v2.6/requests/abc%0d%0aX-Injected:%20yes/status HTTP/1.1\r\nHost: m\r\n" + key + b"Connection: close\r\n\r\n",
        b"GET /wan/v2.6/requests/abc%0aX-Injected:%20yes HTTP/1.1\r\nHost: m\r\n" + key + b"Connection: close\r\n\r\n",
        b"GET /api/v1/tasks/x%0d%0aX-Injected:%20yes HTTP/1.1\r\nHost: m\r\nAuthorization: Bearer k\r\nConnection: close\r\n\r\n",
        b"GET /v2/video/generations?generation_id=a%0d%0aX-Injected:%20yes HTTP/1.1\r\nHost: m\r\nAuthorization: Bearer k\r\n"
        b"Connection: close\r\n\r\n",
        b"GET /model/v1/generation/task/a%0d%0aX-Injected:%20yes HTTP/1.1\r\nHost: m\r\nAuthorization: Bearer k\r\n"
        b"Connection: close\r\n\r\n",
        b"GET /wan/v2.6/requests/abc/status HTTP/1.1\r\nHost: m\r\nAuthorization: Key k\x00\r\nConnection: close\r\n\r\n",
        b"GET /wan/v2.6/requests/abc/status HTTP/1.1\r\nHost: m\r\nAuthorization: Key k\r\n folded: x\r\n"
        b"Connection: close\r\n\r\n",
        b"GET /wan/v2.6/requests/abc/status HTTP/1.1\r\nHost: m\r\nAuthorization: Key \xff\xfe\r\nConnection: close\r\n\r\n",
        b"GET /wan/v2.6/requests/abc/status HTTP/1.1\r\nHost: m\r\n" + key + key + b"Connection: close\r\n\r\n",
        b"GET /wan/v2.6/requests/abc/status HTTP/1.1\r\nHost: m\r\nX-Big: " + b"a" * 200_000 + b"\r\nConnection: close\r\n\r\n",
        b"GET /wan/v2.6/requests/%ff%fe/status HTTP/1.1\r\nHost: m\r\n" + key + b"Connection: close\r\n\r\n",
        b"GET /__wan26__/jobs/%0d%0aX-Injected:%20yes HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n",
        f"POST {fal}?fal_webhook=https://h.example/%0d%0aX-Injected:%20yes HTTP/1.1\r\nHost: m\r\n".encode()
        + key
        + b"Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    ]


def test_header_injection_comes_back_nowhere_and_breaks_nothing(mock: Mock) -> None:
    for request in _injections(mock):
        try:
            status, headers, body = raw(mock, request)
        except ConnectionResetError:  # the HTTP parser may drop a request it cannot read: fine, and no answer to check
            continue
        assert status < 500, (request[:120], status, body[:200])
        assert "x-injected" not in headers, (request[:120], headers)
    assert httpx.get(mock.base_url + "/__wan26__/health").status_code == 200  # still serving


def test_the_canary_key_never_reaches_the_mock_journal(mock: Mock) -> None:
    for pid in PROVIDERS:
        post(mock, pid, b"{}")
    journal = httpx.get(mock.base_url + "/__wan26__/journal", timeout=30)
    assert journal.status_code == 200  # readable, whatever came in before (nested JSON included)
    assert CANARY not in journal.text and "REDACTED" in journal.text


def test_bodies_the_app_did_not_keep_are_refused_by_their_size_in_process() -> None:
    """What the app hands over when it kept nothing: an upload is refused (never stored empty), a submit gets the
    provider's refusal, or its 401 when the key is wrong."""
    import asyncio

    from support import builtin_registry
    from wan26_mock.engine import MAX_UPLOAD_BYTES, Engine

    engine = Engine(builtin_registry(), seed=1, frozen_clock=True)
    assert engine.storage is not None

    async def send(path: str, headers: dict[str, str], size: int) -> Any:
        return await engine.handle_parts("POST", path, {}, headers, b"", "http://mock.test", body_size=size)

    upload = asyncio.run(send("/files/upload", {"authorization": "Bearer t"}, MAX_UPLOAD_BYTES + 1))
    assert upload.status == 413 and engine.storage.used_bytes() == 0
    path, given, _ = submit_parts("dashscope/r2v")
    headers = {k.lower(): v for k, v in given.items()}  # as the app hands them over
    refused = asyncio.run(send(path, headers, OVER_LIMIT))
    assert refused.status == 400 and refused.body["code"] == "InvalidParameter"
    denied = asyncio.run(send(path, {**headers, "authorization": ""}, OVER_LIMIT))
    assert denied.status == 401 and denied.body["code"] == "InvalidApiKey"
    assert [e["status"] for e in engine.journal.entries()] == [413, 400, 401]
