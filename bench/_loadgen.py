"""A small HTTP/1.1 keep-alive load generator (asyncio, uvloop when installed), run as its own process.

It writes raw requests and parses only the status line and ``content-length`` (or the chunk sizes), so on one core
it drives several times what one uvicorn worker can answer (the benchmark reports both processes' CPU use to show who is the
bottleneck). Prints one JSON object: requests, seconds, errors, p50/p99/max latency in microseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit


async def _connection(
    host: str,
    port: int,
    requests: list[bytes],
    offset: int,
    start_at: float,
    stop_at: float,
    latencies: list[int],
    counts: dict[str, int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    index = offset
    clock = time.perf_counter_ns
    start_ns, stop_ns = int(start_at * 1e9), int(stop_at * 1e9)
    try:
        while True:
            began = clock()
            if began >= stop_ns:
                return
            writer.write(requests[index % len(requests)])
            index += 1
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            lower = head.lower()
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                length = int(lower[at + 17 : lower.index(b"\r\n", at + 2)])
                if length:
                    await reader.readexactly(length)
            elif b"\r\ntransfer-encoding: chunked" in lower:  # node's http server (aimock) sends JSON chunked
                await _skip_chunks(reader)
            else:
                raise RuntimeError(f"response without content-length: {head[:200]!r}")
            if began >= start_ns:
                latencies.append(clock() - began)
                if status >= 400:
                    counts["errors"] += 1
    finally:
        writer.close()


async def _skip_chunks(reader: asyncio.StreamReader) -> None:
    """Read a chunked body to its end (trailers included)."""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass
            return
        await reader.readexactly(size + 2)


async def run(
    url: str, paths: list[str], headers: dict[str, str], connections: int, warmup: float, duration: float
) -> dict[str, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    requests = [f"GET {p} HTTP/1.1\r\nhost: {host}:{port}\r\n{extra}\r\n".encode() for p in paths]
    latencies: list[int] = []
    counts = {"errors": 0}
    now = time.perf_counter()
    start_at, stop_at = now + warmup, now + warmup + duration
    step = max(1, len(requests) // connections)
    await asyncio.gather(
        *(_connection(host, port, requests, i * step, start_at, stop_at, latencies, counts) for i in range(connections))
    )
    latencies.sort()
    count = len(latencies)

    def pct(fraction: float) -> float:
        return latencies[max(0, min(count - 1, int(fraction * count + 0.5) - 1))] / 1000 if count else float("nan")

    return {
        "requests": count,
        "seconds": duration,
        "errors": counts["errors"],
        "p50_us": pct(0.50),
        "p99_us": pct(0.99),
        "max_us": latencies[-1] / 1000 if count else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/_loadgen.py", description=__doc__)
    parser.add_argument("url", help="http://host:port")
    parser.add_argument("paths", type=Path, help="file of request paths, one a line, used round-robin")
    parser.add_argument("--header", action="append", default=[], help="NAME: VALUE")
    parser.add_argument("-c", "--connections", type=int, default=64)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("-d", "--duration", type=float, default=5.0)
    args = parser.parse_args(argv)
    headers = dict(h.split(":", 1) for h in args.header)
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    paths = [p for p in args.paths.read_text().splitlines() if p]
    work = run(args.url, paths, headers, args.connections, args.warmup, args.duration)
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(work)
    else:
        result = uvloop.run(work)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
