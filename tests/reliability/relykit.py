"""Shared pieces of the reliability suites: the suite size, the canary key, requests, the mock's admin API.

``WAN26_SUITE=full`` selects the full forms (hundreds of jobs, many crash runs); otherwise the bounded forms run
in a few seconds each, as CI does. ``WAN26_RELIABILITY_REPORT=FILE`` makes the suites append their figures to
FILE as JSON lines (``bench/reliability_figures.py`` reads them).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
from crash_child import request as job_request  # the child builds the same requests: one definition

from mockkit import CANARY

__all__ = [
    "CANARY",
    "FULL",
    "MARKER",
    "PROVIDERS",
    "admin_get",
    "admin_list",
    "job_request",
    "marker_of",
    "report",
]

FULL = os.environ.get("WAN26_SUITE", "bounded").lower() == "full"
#: one endpoint of each provider: fal's status stream and the three polling protocols
PROVIDERS = ("fal/r2v-flash", "aimlapi/r2v", "vtrix/r2v", "dashscope/r2v")
MARKER = re.compile(r"rely-(\d{5})")
assert CANARY == "canary-secret-123"  # the same canary as the rest of the suite


def marker_of(value: Any) -> int | None:
    """The job number a body (any JSON value, or bytes) carries, or None."""
    text = value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else json.dumps(value)
    found = MARKER.search(text)
    return int(found.group(1)) if found else None


def admin_get(admin_url: str, path: str, **query: str) -> Any:
    with httpx.Client(base_url=admin_url, timeout=30) as http:
        answer = http.get(path, params=query)
        answer.raise_for_status()
        return answer.json()


def admin_list(admin_url: str, path: str, key: str, **query: str) -> list[Any]:
    """Every item of an admin listing (``/jobs``, ``/journal``, ``/webhooks``), page after page."""
    cursor = "after" if path.strip("/") == "journal" else "offset"
    wanted: dict[str, str] = {**query, "limit": "1000"}
    items: list[Any] = []
    while True:
        page = admin_get(admin_url, path, **wanted)
        items += page[key]
        if page.get(f"next_{cursor}") is None:
            return items
        wanted[cursor] = str(page[f"next_{cursor}"])


def report(suite: str, figures: Mapping[str, Any]) -> None:
    """Print the figures, and append them to ``$WAN26_RELIABILITY_REPORT`` when set."""
    print(f"\n[{suite}] " + json.dumps(figures, sort_keys=True))
    target = os.environ.get("WAN26_RELIABILITY_REPORT")
    if target:
        with Path(target).open("a", encoding="utf-8") as sink:
            sink.write(json.dumps({"suite": suite, **figures}, sort_keys=True) + "\n")
