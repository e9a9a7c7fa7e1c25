"""The mock's local certificate authority (trustme), kept on disk so clients can trust it once."""

from __future__ import annotations

import ipaddress
import os
import tempfile
from pathlib import Path

import trustme

__all__ = ["CA_FILE", "LocalCA", "default_ca_dir", "trust_settings"]

CA_FILE = "wan26-mock-ca.pem"  # the certificate clients trust
_CA_KEY_FILE = "wan26-mock-ca-key.pem"  # certificate + private key, one file so both are replaced together
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def default_ca_dir() -> Path:
    """One CA per user, reused by every mock process, so ``SSL_CERT_FILE`` stays valid across restarts."""
    configured = os.environ.get("WAN26_MOCK_CA_DIR")
    if configured:
        return Path(configured)
    user = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"wan26-mock-ca-{user}"


def trust_settings(ca_file: str | os.PathLike[str]) -> dict[str, str]:
    """The environment that makes each official client trust the mock's CA (it replaces, not extends, their roots).

    - ``SSL_CERT_FILE``: httpx (fal-client, the AI/ML API SDK, wan26; httpx/_config.py reads it when
      ``trust_env``) and OpenSSL's default paths (aiohttp, urllib, websockets).
    - ``REQUESTS_CA_BUNDLE``: requests (the dashscope SDK's sync calls; requests/utils.py, sessions.py).
    - ``NODE_EXTRA_CA_CERTS``: Node.js (``@fal-ai/client`` over fetch), added to Node's built-in roots.
    """
    path = str(Path(ca_file).resolve())
    return {"SSL_CERT_FILE": path, "REQUESTS_CA_BUNDLE": path, "NODE_EXTRA_CA_CERTS": path}


class LocalCA:
    """A CA in ``directory``: loaded when present, else created; ``ca_file`` is the PEM to trust."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_ca_dir()
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.ca = self._load() or self._create()
        self.ca_file = self.directory / CA_FILE
        _write_atomically(self.ca_file, self.ca.cert_pem.bytes(), mode=0o644)

    def _load(self) -> trustme.CA | None:
        path = self.directory / _CA_KEY_FILE
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        key, marker, rest = data.partition(b"-----BEGIN CERTIFICATE-----")
        if not marker:
            raise ValueError(f"{path}: not a wan26 mock CA (no certificate); delete it to make a new CA")
        return trustme.CA.from_pem(marker + rest, key)

    def _create(self) -> trustme.CA:
        ca = trustme.CA(organization_name="wan26 mock", organization_unit_name="local test CA")
        draft = _write_private(self.directory, ca.private_key_pem.bytes() + ca.cert_pem.bytes())
        try:
            os.link(draft, self.directory / _CA_KEY_FILE)  # never replaces: a process that created one first wins
        except FileExistsError:
            pass
        finally:
            draft.unlink()
        loaded = self._load()
        assert loaded is not None
        return loaded

    def server_pem(self, *hosts: str) -> Path:
        """A fresh leaf certificate for ``hosts`` and loopback, key and chain in one private temporary file.

        The caller deletes it once the server has loaded it.
        """
        names = list(dict.fromkeys(h.strip("[]") for h in (*hosts, *_LOOPBACK) if h and not _is_wildcard(h)))
        leaf = self.ca.issue_cert(*names, common_name=names[0])
        return _write_private(self.directory, leaf.private_key_and_cert_chain_pem.bytes())


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def _write_private(directory: Path, data: bytes) -> Path:
    """A new file only its owner can read (mkstemp creates it with mode 0600)."""
    handle, name = tempfile.mkstemp(prefix="wan26-mock-", suffix=".pem", dir=directory)
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    return Path(name)


def _write_atomically(path: Path, data: bytes, *, mode: int) -> None:
    draft = _write_private(path.parent, data)
    try:
        draft.chmod(mode)
        os.replace(draft, path)
    except BaseException:
        draft.unlink(missing_ok=True)
        raise
