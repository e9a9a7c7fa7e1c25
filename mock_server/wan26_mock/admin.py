"""The admin API under ``/__wan26__``: health, clock, scenarios, jobs, journal, webhooks, files, reset.

One route table maps ``(method, path)`` to a handler; paths ending in ``/`` in the table are prefixes
(``jobs/<id>``, ``files/<name>``). Rules every route shares:

- a request with a body other than GET/HEAD must say ``Content-Type: application/json`` (415 otherwise) and the body
  is a JSON object or nothing. A browser cannot send that type to another origin without a CORS preflight, and the
  mock answers no preflight (it sends no ``Access-Control-*`` header anywhere), so a web page cannot drive it;
- every number is checked (:mod:`wan26_mock.limits`): a 400 whose ``detail`` names the field;
- listings (jobs, journal, webhooks) are pages: ``limit`` (default :data:`~wan26_mock.limits.DEFAULT_PAGE_SIZE`, at
  most :data:`~wan26_mock.limits.MAX_PAGE_SIZE`) and ``offset`` (the journal: ``after``, the ``seq`` of the last entry
  seen), with ``total`` and the next page's ``next_offset`` / ``next_after`` (None on the last page).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wan26core._dialect import MockRequest, MockResponse, is_json, json_body

from .faults import SCENARIOS, ScenarioError, read_scenario
from .limits import DEFAULT_PAGE_SIZE, MAX_ADVANCE_S, MAX_PAGE_SIZE, MAX_SCENARIO_COUNT, BadNumber, check_number

if TYPE_CHECKING:
    from .engine import Engine
    from .jobs import Job

__all__ = ["ADMIN_PREFIX", "AdminApi"]

ADMIN_PREFIX = "/__wan26__"
MAX_OFFSET = 10**9
_READS = ("GET", "HEAD")

Handler = Callable[["AdminApi", MockRequest, dict[str, Any]], MockResponse]


def _error(status: int, detail: str) -> MockResponse:
    return MockResponse(status, {"detail": detail})


class AdminApi:
    """The admin routes of one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def handle(self, request: MockRequest) -> MockResponse:
        path = request.path[len(ADMIN_PREFIX) :].strip("/")
        method = request.method.upper()
        body: Any = {}
        if method not in _READS:
            media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if media_type != "application/json":
                shown = f"{media_type[:60]!r}" if media_type else "none"
                return _error(415, f"Content-Type: the admin API takes application/json (a JSON object or nothing); got {shown}")
            body = json_body(request) if request.body else {}
            if not is_json(body) or not isinstance(body, dict):
                return _error(400, "body: the admin API takes a JSON object")
        handler = _ROUTES.get((method, path))
        if handler is None:
            handler = next((h for (m, p), h in _PREFIXES.items() if m == method and path.startswith(p)), None)
        if handler is None:
            return _error(404, f"no admin route {method} {ADMIN_PREFIX}/{path}")
        try:
            return handler(self, request, body)
        except (BadNumber, ScenarioError) as exc:
            return _error(400, str(exc))

    # --- the routes -------------------------------------------------------------------------------
    def openapi(self, request: MockRequest, body: dict[str, Any]) -> MockResponse:
        """The provider routes, generated from the contracts."""
        from wan26core.drift._openapi import openapi_document

        engine = self.engine
        return MockResponse(200, openapi_document(engine.dialects, engine.contracts, server_url=request.base_url))

    def health(self, request: MockRequest, body: dict[str, Any]) -> MockResponse:
        engine = self.engine
        return MockResponse(
            200,
            {
                "status": "ok",
                "providers": sorted(p for c in engine.contracts.values() for p in c),
                "jobs": len(engine.jobs.jobs),
                "max_jobs": engine.jobs.max_jobs,
                "time": engine.clock.now(),
                "waiting": engine.notifier.waiting(),
                "webhooks_pending": engine.webhooks.pending(),
            },
        )

    def journal(self, request: MockRequest, body: dict[str, Any]) -> MockResponse:
        query = request.query
        after = int(check_number(query.get("after", "0"), "after", maximum=2**62, integer=True, text=True))
        limit = _limit(query)
        filters = {k: query.get(k) for k in ("provider", "action", "job_id", "scenario")}
        entries, total, more = self.engine.journal.page(after=after, limit=limit, **filters)
        return MockResponse(
            200, {"entries": entries, "total": total, "limit": limit, "next_after": entries[-1]["seq"] if more else None}
        )

    def reset(self, request: MockRequest, body: dict[str, Any]) -> MockResponse:
        engine = self.engine
        engine.jobs.reset()
        engine.request_ids.reset()
        engine.journal.clear()
        engine.faults.clear()
        engine.webhooks.clear()
        if engine.storage is not None:
            engine.storage.clear()
        return MockResponse(200, {"status": "reset"})

    def webhooks(self, request: MockRequest, body: dict[str, Any]) -> MockResponse:
        wanted = request.query.get("job_id")
        deliveries = (d for d in self.engine.webhooks.deliveries.values() if wanted in (None, d.request_id))
        return _paged(request.query, "deliveries", deliveries, lambda d: d.view())

    def clock(self, request: MockRequest, body: dict[str, Any]) -> MockResponse:
        clock = self.engine.clock
        return MockResponse(200, {"now": clock.now(), "scale": clock.scale, "frozen": clock.frozen})

    def advance(self, request: MockRequest, body: dict[str, Any]) -> MockResponse:
        seconds = check_number(body.get("seconds"), "seconds", maximum=MAX_ADVANCE_S)
        return MockResponse(200, {"now": self.engine.clock.advance(seconds)})  # which checks the total too

    def scenarios(self, request: MockRequest, body: dict[str, Any]) -> MockResponse:
        return MockResponse(200, {"available": SCENARIOS, "pending": self.engine.faults.pending()})

    def queue_scenario(self, request: MockRequest, body: dict[str, Any]) -> MockResponse:
        text = body.get("scenario")
        if not isinstance(text, str):
            return _error(400, f"scenario: must be one of {sorted(SCENARIOS)}, as name[:argument]")
        fault = read_scenario(text, "scenario")
        count = int(check_number(body.get("count", 1), "count", minimum=1, maximum=MAX_SCENARIO_COUNT, integer=True))
        provider, action = body.get("provider"), body.get("action")
        for name, value in (("provider", provider), ("action", action)):
            if value is not None and not isinstance(value, str):
                return _error(400, f"{name}: must be a string or null")
        self.engine.faults.add(fault, count, provider, action)
        return MockResponse(200, {"pending": self.engine.faults.pending()})

    def jobs(self, request: MockRequest, body: dict[str, Any]) -> MockResponse:
        return _paged(request.query, "jobs", self.engine.jobs.jobs.values(), self.job_view)

    def job(self, request: MockRequest, body: dict[str, Any]) -> MockResponse:
        job = self.engine.jobs.jobs.get(request.path[len(ADMIN_PREFIX) :].strip("/")[len("jobs/") :])
        if job is None:
            return _error(404, "no such job")
        return MockResponse(200, self.job_view(job))

    def _output_file(self, name: str) -> Path | None:
        """The file behind a job's output URL (``{job id}/{file name}``, see ``Engine._make_video``); else None:
        each job has its own URL, though jobs of one shape share the file on disk."""
        job_id, _, file_name = name.partition("/")
        job = self.engine.jobs.jobs.get(job_id)
        if job is None or job.video is None or job.video.file_name != file_name:
            return None
        return self.engine.outputs.lookup(file_name)

    def file(self, request: MockRequest, body: dict[str, Any]) -> MockResponse:
        found = self._output_file(request.path[len(ADMIN_PREFIX) :].strip("/")[len("files/") :])
        if found is None:
            return _error(404, "no such file")
        data = b"" if request.method.upper() == "HEAD" else found.read_bytes()
        return MockResponse(200, data, {"content-type": "video/mp4", "content-length": str(found.stat().st_size)})

    def job_view(self, job: Job) -> dict[str, Any]:
        """A job as the admin API shows it: its snapshot now, with the request and wire body as kept (data URIs as
        digests, see :mod:`wan26_mock.digests`)."""
        engine = self.engine
        contract = next(c[job.provider] for c in engine.contracts.values() if job.provider in c)
        snap = engine.jobs.snapshot(job, engine.clock.now(), contract)
        view = asdict(snap)
        view["request"] = snap.request.to_dict()
        view["error"] = snap.error.as_dict() if snap.error else None
        return view


def _limit(query: Mapping[str, str]) -> int:
    limit = query.get("limit", str(DEFAULT_PAGE_SIZE))
    return int(check_number(limit, "limit", minimum=1, maximum=MAX_PAGE_SIZE, integer=True, text=True))


def _paged(query: Mapping[str, str], key: str, items: Iterable[Any], view: Callable[[Any], Any]) -> MockResponse:
    """One page of ``items`` by ``offset`` and ``limit``, each shown by ``view`` (only the page's items are viewed)."""
    offset = int(check_number(query.get("offset", "0"), "offset", maximum=MAX_OFFSET, integer=True, text=True))
    limit = _limit(query)
    everything = list(items)
    page = [view(item) for item in itertools.islice(everything, offset, offset + limit)]
    more = offset + limit < len(everything)
    return MockResponse(
        200,
        {key: page, "total": len(everything), "offset": offset, "limit": limit, "next_offset": offset + limit if more else None},
    )


_ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "openapi.json"): AdminApi.openapi,
    ("GET", "health"): AdminApi.health,
    ("GET", "journal"): AdminApi.journal,
    ("POST", "reset"): AdminApi.reset,
    ("GET", "webhooks"): AdminApi.webhooks,
    ("GET", "clock"): AdminApi.clock,
    ("POST", "clock/advance"): AdminApi.advance,
    ("GET", "scenarios"): AdminApi.scenarios,
    ("POST", "scenarios"): AdminApi.queue_scenario,
    ("GET", "jobs"): AdminApi.jobs,
}
_PREFIXES: dict[tuple[str, str], Handler] = {
    ("GET", "jobs/"): AdminApi.job,
    ("GET", "files/"): AdminApi.file,
    ("HEAD", "files/"): AdminApi.file,
}
