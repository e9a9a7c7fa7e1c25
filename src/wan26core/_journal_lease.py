"""A lease on one journaled job: the worker that holds it is the only one waiting on the job and downloading its video.

A lease lasts :data:`LEASE_TTL_S` seconds and is renewed every third of that by a daemon thread while the work runs
(a wait of minutes, a download); it is released at the end. A worker killed with -9 renews nothing: its leases run
out and another worker takes the jobs. Why 30 s and every 10 s: docs/journal.md.
"""

from __future__ import annotations

import math
import os
import threading
from typing import TYPE_CHECKING

from wan26core._journal_claims import lease_holder_id
from wan26core._journal_rows import JournalError

if TYPE_CHECKING:
    from wan26core._journal_base import JournalBase

__all__ = ["LEASE_TTL_S", "Lease", "lease_seconds"]

#: how long a lease lives without renewal; a killed worker's jobs wait this long at most for another worker
LEASE_TTL_S = 30.0
#: the longest lease ``$WAN26_LEASE_SECONDS`` may ask for: a day (a killed worker's jobs wait that long at most)
LEASE_MAX_S = 86_400.0


def lease_seconds() -> float:
    """:data:`LEASE_TTL_S`, or ``$WAN26_LEASE_SECONDS`` (a number above 0: shorter in tests, longer on slow links)."""
    text = os.environ.get("WAN26_LEASE_SECONDS", "")
    try:
        value = float(text) if text else LEASE_TTL_S
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= LEASE_MAX_S):
        raise JournalError(f"WAN26_LEASE_SECONDS must be a number of seconds above 0 and at most {LEASE_MAX_S:g}, not {text!r}")
    return value


class Lease:
    """``with Lease(journal, job_id) as lease: if lease.held: …`` — taken on entry (or not, when another worker
    holds it), renewed while the block runs, released on exit. ``lost`` turns True if a renewal found the lease
    taken over (this worker was stalled past the expiry)."""

    def __init__(
        self,
        journal: JournalBase,
        local_id: str,
        *,
        holder: str | None = None,
        ttl: float | None = None,
        taken: bool = False,
    ) -> None:
        """``taken``: the lease is already ours (:meth:`JournalBase.claim_next` took it): renew and release it only."""
        self.journal, self.local_id = journal, local_id
        self.holder = holder or lease_holder_id()
        self.ttl = ttl if ttl is not None else lease_seconds()
        self.taken = taken
        self.held = False
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Lease:
        self.held = self.taken or self.journal.claim(self.local_id, self.holder, self.ttl)
        if self.held:
            self._thread = threading.Thread(target=self._renew, name=f"wan26-lease-{self.local_id[:8]}", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.held:
            self.journal.release(self.local_id, self.holder)

    def _renew(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                if not self.journal.claim(self.local_id, self.holder, self.ttl):
                    self.lost = True
                    return
            except Exception:  # a network hiccup: the next tick tries again, before the lease runs out
                continue
