"""`wan26 mock serve` on a real loopback socket (HTTP and HTTPS): it starts, says how to point each client at it, and answers."""

from __future__ import annotations

import re
import ssl
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from support import builtin_registry
from wan26_mock.serve import client_settings, running_server
from wan26_mock.tls import CA_FILE, LocalCA, trust_settings

PROVIDERS = {"aimlapi", "dashscope", "fal", "vtrix"}
Serve = Callable[..., tuple[str, str]]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """``serve(*args)`` starts ``wan26 mock serve --port 0 *args``; returns its base URL and banner."""
    processes: list[subprocess.Popen[str]] = []

    def start(*args: str) -> tuple[str, str]:
        script = Path(sysconfig.get_path("scripts")) / "wan26"
        process = subprocess.Popen(
            [str(script), "mock", "serve", "--port", "0", "--seed", "5", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        processes.append(process)
        banner: list[str] = []
        deadline = time.monotonic() + 30
        assert process.stderr is not None
        while time.monotonic() < deadline and len({m for b in banner for m in re.findall(r"^  (\w+): ", b)} & PROVIDERS) < 4:
            line = process.stderr.readline()
            if not line:
                break
            banner.append(line)
        text = "".join(banner)
        found = re.search(r"on (https?://127\.0\.0\.1:\d+)", text)
        assert found, f"no address in the banner: {text!r} (exit {process.poll()})"
        return found.group(1), text

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_serve_prints_each_providers_settings_and_answers_on_loopback(serve: Serve) -> None:
    base_url, banner = serve()
    assert base_url.startswith("http://")
    for setting in (
        "FAL_KEY=",
        "FAL_QUEUE_RUN_HOST=127.0.0.1:",
        "DASHSCOPE_HTTP_BASE_URL=http://127.0.0.1:",
        "DASHSCOPE_API_KEY=",
        "AIML_API_BASE=",
        "VTRIX_API_KEY=",
    ):
        assert setting in banner
    assert "SSL_CERT_FILE" not in banner
    health = httpx.get(f"{base_url}/__wan26__/health", timeout=10).json()
    assert {"fal/r2v-flash", "vtrix/r2v", "dashscope/i2v", "aimlapi/r2v"} <= set(health["providers"])


def test_serve_tls_prints_the_ca_and_the_settings_that_trust_it(serve: Serve, tmp_path: Path) -> None:
    base_url, banner = serve("--tls", "--ca-dir", str(tmp_path))
    ca_file = tmp_path / CA_FILE
    assert base_url.startswith("https://127.0.0.1:")
    assert f"CA certificate: {ca_file}" in banner
    for setting in (
        f"DASHSCOPE_HTTP_BASE_URL={base_url}/api/v1",
        f"AIML_API_BASE={base_url}/v1",
        f"FAL_QUEUE_RUN_HOST={base_url.removeprefix('https://')}",
        f"SSL_CERT_FILE={ca_file}",
        f"REQUESTS_CA_BUNDLE={ca_file}",
        f"NODE_EXTRA_CA_CERTS={ca_file}",
    ):
        assert setting in banner
    trusted = ssl.create_default_context(cafile=str(ca_file))
    assert httpx.get(f"{base_url}/__wan26__/health", verify=trusted, timeout=10).json()["status"] == "ok"
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{base_url}/__wan26__/health", verify=ssl.create_default_context(cafile=None), timeout=10)
    # the CA (certificate, and key for reuse) stays; the server's own key was removed once loaded
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wan26-mock-ca-key.pem", CA_FILE]


def test_the_local_ca_is_made_once_and_reused(tmp_path: Path) -> None:
    first = LocalCA(tmp_path)
    again = LocalCA(tmp_path)
    assert first.ca_file == again.ca_file == tmp_path / CA_FILE
    assert first.ca.cert_pem.bytes() == again.ca.cert_pem.bytes() == first.ca_file.read_bytes()
    assert oct((tmp_path / "wan26-mock-ca-key.pem").stat().st_mode & 0o777) == "0o600"
    (tmp_path / "wan26-mock-ca-key.pem").write_bytes(b"-----BEGIN PRIVATE KEY-----\n")
    with pytest.raises(ValueError, match="not a wan26 mock CA"):
        LocalCA(tmp_path)


def test_running_server_serves_https_in_a_thread_and_stops(tmp_path: Path) -> None:
    with running_server(builtin_registry(), tls=True, ca_dir=tmp_path, seed=3) as mock:
        assert mock.ca_file == tmp_path / CA_FILE and mock.base_url.startswith("https://127.0.0.1:")
        trusted = ssl.create_default_context(cafile=str(mock.ca_file))
        assert httpx.get(f"{mock.admin_url}/health", verify=trusted, timeout=10).status_code == 200
        env = mock.env("fal", "dashscope")
        assert env["FAL_QUEUE_RUN_HOST"] == mock.base_url.removeprefix("https://")
        assert env["DASHSCOPE_HTTP_BASE_URL"] == f"{mock.base_url}/api/v1"
        assert env["SSL_CERT_FILE"] == env["REQUESTS_CA_BUNDLE"] == str(mock.ca_file)
        assert set(mock.settings) == PROVIDERS and mock.env() == {k: v for s in mock.settings.values() for k, v in s.items()}
        with pytest.raises(KeyError, match="nope"):
            mock.env("nope")
        base_url = mock.base_url
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}/__wan26__/health", verify=trusted, timeout=2)


def test_running_server_over_plain_http_has_no_trust_settings() -> None:
    with running_server(builtin_registry()) as mock:
        assert mock.ca_file is None and mock.base_url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{mock.admin_url}/health", timeout=10).json()["status"] == "ok"
        assert not {"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"} & set(mock.env())
        assert client_settings(mock.engine, mock.base_url) == mock.settings


def test_trust_settings_name_one_absolute_file(tmp_path: Path) -> None:
    settings = trust_settings(tmp_path / "ca.pem")
    assert set(settings) == {"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"}
    assert set(settings.values()) == {str((tmp_path / "ca.pem").resolve())}


def test_python_dash_m_runs_the_same_server() -> None:
    done = subprocess.run([sys.executable, "-m", "wan26_mock", "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and "--time-scale" in done.stdout and "--tls" in done.stdout and "--ca-dir" in done.stdout
