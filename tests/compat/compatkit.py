"""Helpers for the official-client tests: trust the mock's CA, read its journal, download and probe a video."""

from __future__ import annotations

import io
import ssl
from collections.abc import Callable
from typing import Any

import av
import httpx

from wan26_mock.serve import MockServer

RunClient = Callable[..., dict[str, Any]]  # run_client(script, *providers) -> the JSON the script printed


def trusting(mock: MockServer) -> ssl.SSLContext:
    """An SSL context that trusts the mock's CA (and nothing else)."""
    assert mock.ca_file is not None
    return ssl.create_default_context(cafile=str(mock.ca_file))


def journal(mock: MockServer, **filters: str) -> list[dict[str, Any]]:
    """The mock's journal entries matching ``filters`` (job_id, provider, action), oldest first: every page of them.

    The admin journal is paged (100 entries unless ``limit``), and the session's mock serves every compat test, so an
    unfiltered read must follow ``next_after`` or it sees only the oldest clients' requests.
    """
    entries: list[dict[str, Any]] = []
    params: dict[str, str | int] = {**filters, "limit": 1000}
    while True:
        response = httpx.get(f"{mock.admin_url}/journal", params=params, verify=trusting(mock), timeout=10)
        assert response.status_code == 200, response.text
        page = response.json()
        entries.extend(page["entries"])
        if page["next_after"] is None:
            return entries
        params["after"] = page["next_after"]


def download_video(mock: MockServer, url: str) -> tuple[bytes, tuple[int, int, float]]:
    """The bytes at ``url`` (served by the mock over HTTPS) and the video's width, height and duration, probed."""
    assert url.startswith(mock.base_url + "/"), f"{url} is not served by the mock at {mock.base_url}"
    response = httpx.get(url, verify=trusting(mock), timeout=30)
    assert response.status_code == 200 and response.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(response.content)) as container:
        stream = container.streams.video[0]
        duration = float(container.duration or 0) / av.time_base
        return response.content, (stream.width, stream.height, round(duration, 1))
