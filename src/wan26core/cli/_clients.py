"""What the job commands run on: the journal, one client per provider (kept open for the command), and the embedded mock
that answers jobs submitted with ``--mock`` (revived from the journal for a later command)."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wan26core._client import Client
    from wan26core._journal import JobRecord
    from wan26core._journal_base import JournalBase
    from wan26core._plugins import Registry

__all__ = ["EMBEDDED_BASE_URL", "EMBEDDED_TIME_SCALE", "Clients", "embedded_app", "missing_key", "open_journal", "revive"]


EMBEDDED_BASE_URL = "http://wan26-embedded-mock.invalid"


#: the embedded mock's fast profile finishes a job in about a second; poll as if time ran this much faster
EMBEDDED_TIME_SCALE = 50.0


def missing_key(provider: Any) -> bool:
    """True when the provider's key is in none of its documented variables (its protocol decides, as the client does)."""
    from wan26core._errors import AuthenticationError

    protocol = provider.protocol
    try:
        protocol.api_key()
    except AuthenticationError:
        return True
    return False


def embedded_app(registry: Registry) -> Any:
    from wan26core._errors import MissingExtraError

    try:
        from wan26_mock import create_app
    except ImportError:
        raise MissingExtraError("the embedded mock needs the [mock] extra: pip install 'wan26[mock]'") from None
    return create_app(registry)


def open_journal(args: argparse.Namespace) -> JournalBase:
    """``--journal`` (a file or a ``postgresql://`` URL), else ``$WAN26_JOURNAL_URL``, else the default file."""
    from wan26core._journal import open_journal as open_target

    return open_target(getattr(args, "journal", None) or None)


# --- follow-up commands ----------------------------------------------------------------------------
class Clients:
    """The clients of one command: one for paid jobs, one for embedded-mock jobs (made when first needed)."""

    def __init__(self, args: argparse.Namespace, registry: Registry) -> None:
        self.args, self.registry = args, registry
        self.journal = open_journal(args)
        self._real: Client | None = None
        self._mock: Client | None = None
        self._bridge: Any = None

    def __enter__(self) -> Clients:
        return self

    def __exit__(self, *exc: object) -> None:
        for client in (self._real, self._mock):
            if client is not None:
                client.close()
        if self._mock is not None:
            self._mock.http.close()
        if self._bridge is not None:
            self._bridge.close()
        self.journal.close()

    def real(self) -> Client:
        if self._real is None:
            from wan26core._client import Client

            self._real = Client(registry=self.registry, journal=self.journal)
        return self._real

    def mock(self) -> Client:
        if self._mock is None:
            import httpx

            from wan26core._client import Client
            from wan26core._errors import MissingExtraError

            try:
                from wan26_mock.engine import Engine
                from wan26core.testing.bridge import EngineBridge
            except ImportError:
                raise MissingExtraError("this job ran on the embedded mock, which needs the [mock] extra") from None
            self._bridge = EngineBridge(Engine(self.registry))
            keys = {pid.split("/")[0]: "mock-key" for pid in self.registry.providers()}
            http = httpx.Client(transport=httpx.MockTransport(self._bridge.handle), timeout=60)
            self._mock = Client(
                registry=self.registry, journal=self.journal, http=http, keys=keys, time_scale=EMBEDDED_TIME_SCALE, mock=True
            )
        return self._mock

    def for_record(self, record: JobRecord) -> Client:
        """The client that may follow ``record``: the embedded mock for a mock job (the job revived on it)."""
        if not record.mock:
            return self.real()
        client = self.mock()
        revive(self._bridge.engine, record)
        return client

    def for_job(self, ident: str) -> tuple[Client, JobRecord]:
        record = self.journal.get(ident)
        return self.for_record(record), record


def revive(engine: Any, record: JobRecord) -> None:
    """Give a fresh embedded mock the journaled mock job, as far along as the time since its submit makes it
    (the embedded mock lives in one process; its jobs are deterministic, so another process can replay them)."""
    if record.remote_id is None or record.remote_id in engine.jobs.jobs:
        return
    from wan26core._errors import NativeError
    from wan26core._rules.wire import check_wire

    contract = engine.contracts.get(record.provider.split("/")[0], {}).get(record.provider)
    if contract is None:
        return
    canonical, _ = check_wire(dict(record.wire), contract)
    if canonical is None:
        return
    now = engine.clock.now()
    job = engine.jobs.create(record.provider, contract, canonical, dict(record.wire), now - (time.time() - record.created_at))
    del engine.jobs.jobs[job.id]
    job.id = record.remote_id
    job.meta.update(query={}, base_url=EMBEDDED_BASE_URL)
    if record.phase == "cancelled":
        job.cancelled_at = job.created_at
    elif record.phase == "failed":
        error = dict(record.error or {})
        job.outcome = "failed"
        job.error = NativeError(error.get("http_status"), str(error.get("code") or "failed"), str(error.get("message") or ""))
    engine.jobs.jobs[job.id] = job
