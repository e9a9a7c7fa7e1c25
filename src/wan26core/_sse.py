"""Server-sent events: the decoder the drivers read status streams with (the ``data`` of each event, comments and
keep-alives skipped)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

__all__ = ["SSEDecoder", "aiter_sse", "iter_sse"]


# --- server-sent events ----------------------------------------------------------------------------
class SSEDecoder:
    """Lines in, ``data`` payloads out (comments and other fields ignored), per the EventSource rules."""

    def __init__(self) -> None:
        self._data: list[str] = []

    def feed(self, line: str) -> str | None:
        line = line.rstrip("\r\n")
        if not line:
            if not self._data:
                return None
            data, self._data = "\n".join(self._data), []
            return data
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if name == "data":
            self._data.append(value[1:] if value.startswith(" ") else value)
        return None


def iter_sse(lines: Iterator[str]) -> Iterator[str]:
    decoder = SSEDecoder()
    for line in lines:
        data = decoder.feed(line)
        if data is not None:
            yield data


async def aiter_sse(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    decoder = SSEDecoder()
    async for line in lines:
        data = decoder.feed(line)
        if data is not None:
            yield data
