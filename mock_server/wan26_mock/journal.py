"""The request journal: every request and response the mock saw, with secrets redacted."""

from __future__ import annotations

import itertools
import json
import re
from collections import deque
from collections.abc import Mapping
from typing import Any

__all__ = ["Journal", "redact_headers"]

_SECRET_HEADERS = {"authorization", "x-api-key", "api-key", "cookie", "proxy-authorization", "x-dashscope-apikey"}
_SECRET_QUERY = re.compile(r"(?i)^(key|api_key|apikey|token|access_token|signature|sig|x-amz-signature)$")
MAX_BODY = 16 * 1024


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    out = {}
    for name, value in headers.items():
        if name.lower() in _SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            out[name] = f"{scheme} [redacted]".strip()
        else:
            out[name] = value
    return out


def redact_query(query: Mapping[str, str]) -> dict[str, str]:
    return {k: ("[redacted]" if _SECRET_QUERY.match(k) else v) for k, v in query.items()}


def _body(raw: bytes | Any) -> Any:
    if isinstance(raw, (bytes, bytearray)):
        if len(raw) > MAX_BODY:
            return {"truncated": True, "size": len(raw)}
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw[:1024].decode("utf-8", "replace")
    return raw


class Journal:
    """A bounded log of exchanges, newest last."""

    def __init__(self, limit: int = 10_000) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=limit)
        self._seq = itertools.count(1)

    def record(
        self,
        *,
        time: float,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
        status: int,
        response: Any,
        provider: str | None,
        action: str | None,
        job_id: str | None,
        scenario: str | None,
    ) -> None:
        self._entries.append(
            {
                "seq": next(self._seq),
                "time": time,
                "provider": provider,
                "action": action,
                "job_id": job_id,
                "scenario": scenario,
                "method": method,
                "path": path,
                "query": redact_query(query),
                "headers": redact_headers(headers),
                "body": _body(body),
                "status": status,
                "response": _body(response),
            }
        )

    def entries(self, **filters: str | None) -> list[dict[str, Any]]:
        wanted = {k: v for k, v in filters.items() if v is not None}
        return [e for e in self._entries if all(str(e.get(k)) == v for k, v in wanted.items())]

    def clear(self) -> None:
        self._entries.clear()
