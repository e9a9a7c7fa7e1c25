"""The ``wan26_mock`` handle: a live mock server (``wan26_mock.serve.running_server``) driven over its admin API."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any

import httpx

from wan26_mock.serve import MockServer
from wan26core.testing.control import AdminError, MockControl

__all__ = ["LiveMock"]


class LiveMock(MockControl):
    """A handle on the session's live mock: what a user's code reaches over loopback, and its admin API.

    >>> def test_one_submit(wan26_mock):                                      # doctest: +SKIP
    ...     my_app.make_video("a cat")                       # reads FAL_KEY / FAL_QUEUE_RUN_HOST, set by the plugin
    ...     wan26_mock.assert_submitted("fal/r2v-flash", prompt="a cat")
    """

    def __init__(self, server: MockServer, *, timeout: float = 30.0) -> None:
        self.server = server
        verify: ssl.SSLContext | bool = True
        if server.ca_file is not None:
            verify = ssl.create_default_context(cafile=str(server.ca_file))
        # trust_env=False: proxies from the environment must not see loopback admin calls
        self._http = httpx.Client(base_url=server.admin_url, verify=verify, timeout=timeout, trust_env=False)

    def __repr__(self) -> str:
        return f"<LiveMock {self.base_url}>"

    @property
    def base_url(self) -> str:
        """``http(s)://127.0.0.1:<port>``: every provider's routes are served under it."""
        return self.server.base_url

    @property
    def admin_url(self) -> str:
        return self.server.admin_url

    @property
    def ca_file(self) -> str | None:
        """The CA certificate to trust when the mock serves HTTPS (``--wan26-mock-tls``), else None."""
        return str(self.server.ca_file) if self.server.ca_file is not None else None

    def env(self, *providers: str) -> dict[str, str]:
        """The settings pointing each official client (and wan26's) at the mock, for ``providers`` (all when none
        are named): for a subprocess, ``subprocess.run(..., env={**os.environ, **wan26_mock.env("fal")})``."""
        return self.server.env(*providers)

    def admin(self, method: str, path: str, body: Mapping[str, Any] | None = None, query: Mapping[str, str] | None = None) -> Any:
        if body is None and method.upper() not in ("GET", "HEAD"):
            body = {}  # the admin API takes only application/json on its POSTs
        answer = self._http.request(method, f"/{path}", json=body, params=dict(query) if query else None)
        if answer.status_code >= 400:
            detail = answer.json().get("detail") if "json" in answer.headers.get("content-type", "") else answer.text
            raise AdminError(f"{method} {path}: HTTP {answer.status_code}: {detail}")
        return answer.json()

    def close(self) -> None:
        self._http.close()
