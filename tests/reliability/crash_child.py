"""A client process for the crash suite: it runs jobs and is killed with SIGKILL, by itself at a chosen point or by
the parent at a random moment.

    python crash_child.py POINT PROVIDER BASE_URL JOURNAL OUT_DIR FIRST COUNT

POINT is where the process sends itself SIGKILL (the kill -9 a user, an OOM killer or a power cut deals):

- ``before_post``: right after the intent is journaled, before the submit is sent;
- ``after_post``: the provider accepted the submit, its answer is read, the journal not yet told;
- ``mid_wait``: once the job is journaled as running;
- ``mid_download``: after half of the first chunk of the video is in the download's temporary file;
- ``random``: nowhere; the parent kills the process at a random moment (after it printed ``ready``).

COUNT jobs run at once through ``AsyncClient.generate`` (each downloads its video to ``OUT_DIR/job-<n>.mp4``),
polled as ``wan26 generate --mock`` polls the mock's fast profile. The key comes from the provider's environment
variable, as it does for a user; ``wan26 jobs resume`` then picks up what the process left.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

from wan26core import _download as download
from wan26core._journal import Journal

POINTS = ("before_post", "after_post", "mid_wait", "mid_download", "random")


def request(number: int) -> dict[str, Any]:
    """A valid request whose prompt carries a marker, so the job can be found in every journal by its text."""
    return {
        "prompt": f"@cat waves at @dog, take rely-{number:05d}",
        "references": [
            {"name": "cat", "source": "https://example.com/cat.mp4"},
            {"name": "dog", "source": "https://example.com/dog.mp4"},
        ],
        "duration": 5,
    }


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install(point: str) -> None:
    """Patch the one place where ``point`` is, so that reaching it kills the process."""
    if point == "before_post":
        record_intent = Journal.record_intent

        def intent_then_die(self: Journal, *args: Any, **kwargs: Any) -> Any:
            record_intent(self, *args, **kwargs)
            die()

        Journal.record_intent = intent_then_die  # type: ignore[method-assign]
    elif point == "after_post":

        def die_instead(self: Journal, *args: Any, **kwargs: Any) -> Any:
            die()

        Journal.record_submitted = die_instead  # type: ignore[method-assign]
    elif point == "mid_wait":
        record_status = Journal.record_status

        def status_then_die(self: Journal, local_id: str, phase: Any, **kwargs: Any) -> Any:
            record = record_status(self, local_id, phase, **kwargs)
            if phase == "running":
                die()
            return record

        Journal.record_status = status_then_die  # type: ignore[method-assign]
    elif point == "mid_download":
        write = download._Sink.write

        def half_then_die(self: Any, chunk: bytes) -> None:
            write(self, chunk[: len(chunk) // 2])
            self.file.flush()
            die()

        download._Sink.write = half_then_die  # type: ignore[method-assign]


async def many(provider: str, base_url: str, journal: str, out_dir: Path, first: int, count: int) -> None:
    from wan26core import AsyncClient
    from wan26core.cli._jobs import EMBEDDED_TIME_SCALE

    async with AsyncClient(provider, base_url=base_url, journal=journal, time_scale=EMBEDDED_TIME_SCALE) as client:
        print("ready", flush=True)
        await asyncio.gather(*(client.generate(request(n), output=out_dir / f"job-{n}.mp4") for n in range(first, first + count)))


def main() -> int:
    point, provider, base_url, journal, out_dir, first, count = sys.argv[1:8]
    if point not in POINTS:
        raise SystemExit(f"POINT must be one of {POINTS}")
    install(point)
    asyncio.run(many(provider, base_url, journal, Path(out_dir), int(first), int(count)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
