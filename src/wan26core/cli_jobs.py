"""``wan26 generate | status | result | cancel | jobs …``: run and follow jobs from the command line.

Without the provider's key (or with ``--mock``) ``generate`` runs on the embedded mock server, in
process: no network, no cost, and still a real, playable MP4 (a test pattern of the requested shape).
Mock jobs go to the same journal as paid ones, marked ``mock``: ``jobs list`` shows them as such, and
``status``, ``result``, ``cancel`` and ``jobs resume`` follow them on an embedded mock (no key needed),
never on the provider; a paid job is never followed on a mock.

Everything that can be checked before paying is checked before the submit, and reported at once: the
request, its local files and where the video will be saved. Ctrl-C while waiting stops cleanly and says
how to pick the job up again (it keeps running at the provider); a second Ctrl-C exits at once.
Heavy modules (httpx, the client runtime, the mock) are imported by the commands that use them.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import asyncio

    from .client import Client, Result
    from .journal import JobRecord, Journal
    from .plugins import Registry
    from .protocol import JobStatus
    from .request import GenerationRequest

__all__ = ["register"]

EMBEDDED_BASE_URL = "http://wan26-embedded-mock.invalid"
#: the embedded mock's fast profile finishes a job in about a second; poll as if time ran this much faster
EMBEDDED_TIME_SCALE = 50.0


def _seconds(text: str) -> float:
    """A --timeout: a finite number of seconds above 0 (refused by argparse, exit 2, before anything is sent)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0 (e.g. 600)")
    return value


def _count(text: str) -> int:
    """A --limit: a whole number above 0."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number above 0 (e.g. 50)")
    return value


def register(sub: Any) -> None:
    """Add the job commands to the ``wan26`` parser."""
    gen = sub.add_parser("generate", help="submit a request, wait for it and download the video")
    gen.add_argument("prompt", nargs="?", help="the prompt; @name refers to --ref name=…")
    gen.add_argument("--provider", "-p", required=True, help="provider/model, e.g. fal/r2v-flash")
    gen.add_argument("--request", "-r", help="a request JSON file to start from (command-line options override it)")
    gen.add_argument("--ref", action="append", default=[], metavar="NAME=SOURCE", help="a named reference (URL or path)")
    gen.add_argument("--image", help="first frame (image-to-video)")
    gen.add_argument("--audio", help="driving/background audio URL")
    gen.add_argument("--negative-prompt")
    gen.add_argument("--resolution", choices=["480p", "720p", "1080p"])
    gen.add_argument("--aspect-ratio", choices=["16:9", "9:16", "1:1", "4:3", "3:4"])
    gen.add_argument("--duration", type=int, help="seconds of video")
    gen.add_argument("--shot-type", choices=["single", "multi"])
    gen.add_argument("--seed", type=int)
    for flag, field, text in (
        ("prompt-expansion", "prompt_expansion", "let the provider rewrite the prompt"),
        ("generate-audio", "generate_audio", "generate an audio track"),
        ("safety-checker", "safety_checker", "the provider's safety checker"),
        ("watermark", "watermark", "the provider's watermark"),
    ):
        gen.add_argument(f"--{flag}", dest=field, action=argparse.BooleanOptionalAction, default=None, help=text)
    gen.add_argument("--output", "-o", help="where to save the video (default: wan26-<job id>.mp4)")
    gen.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    gen.add_argument("--dry-run", action="store_true", help="print the validated wire request and the estimate; send nothing")
    gen.add_argument("--mock", action="store_true", help="run on the embedded mock even when a key is set")
    gen.add_argument("--timeout", type=_seconds, help="give up waiting after this many seconds (the job is kept)")
    gen.add_argument("--cancel-on-timeout", action="store_true", help="cancel the job when --timeout runs out")
    gen.add_argument("--webhook-url", help="ask the provider to call this URL when the job finishes (where supported)")
    gen.add_argument("--label", help="free text kept with the job in the journal")
    gen.add_argument("--base-url", help="the provider's base URL (default: its environment variable, then the real API)")
    gen.add_argument("--json", action="store_true", help="print the outcome as JSON")
    gen.set_defaults(handler=cmd_generate)

    for name, handler, text in (
        ("status", cmd_status, "ask the provider for a journaled job's status"),
        ("cancel", cmd_cancel, "ask the provider to cancel a journaled job"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("job", help="local job id (or a unique prefix), or the provider's job id")
        cmd.add_argument("--json", action="store_true")
        cmd.add_argument("--journal", help="journal file")
        cmd.set_defaults(handler=handler)
    result = sub.add_parser("result", help="fetch a finished job's result (and download it with -o)")
    result.add_argument("job")
    result.add_argument("--output", "-o")
    result.add_argument("--overwrite", action="store_true")
    result.add_argument("--json", action="store_true")
    result.set_defaults(handler=cmd_result)

    jobs = sub.add_parser("jobs", help="the local journal of submitted jobs")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True, metavar="JOBS_COMMAND")
    listing = jobs_sub.add_parser("list", help="journaled jobs, newest first")
    listing.add_argument("--unfinished", action="store_true", help="only jobs that may still change")
    listing.add_argument("--provider", "-p")
    listing.add_argument("--limit", type=_count, default=50)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_jobs_list)
    show = jobs_sub.add_parser("show", help="one job with its recorded events")
    show.add_argument("job")
    show.set_defaults(handler=cmd_jobs_show)
    resume = jobs_sub.add_parser(
        "resume", help="wait for every unfinished job the provider accepted, and fetch every video whose download did not finish"
    )
    resume.add_argument("--timeout", type=_seconds, help="give up waiting for each job after this many seconds")
    resume.add_argument(
        "--download-dir", "-d", help="download finished videos that have no journaled output path (-o) into this folder"
    )
    resume.add_argument("--no-download", action="store_true", help="download nothing; only follow the jobs")
    resume.set_defaults(handler=cmd_jobs_resume)
    dl = jobs_sub.add_parser("download", help="download a finished job's video")
    dl.add_argument("job")
    dl.add_argument("--output", "-o")
    dl.add_argument("--overwrite", action="store_true")
    dl.set_defaults(handler=cmd_result)
    for cmd in (listing, show, resume, dl, result, gen):
        cmd.add_argument("--journal", help="journal file (default: $WAN26_HOME/journal.sqlite3 or the user data folder)")


# --- generate --------------------------------------------------------------------------------------
def request_data(args: argparse.Namespace) -> dict[str, Any]:
    """The request as JSON-like data: the --request file, then the command-line options over it."""
    from .cli import UsageError

    data: dict[str, Any] = {}
    if args.request:
        try:
            data = json.loads(Path(args.request).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            raise UsageError(f"cannot read request file {args.request}: {exc}") from None
        if not isinstance(data, dict):
            raise UsageError(f"{args.request} must hold a JSON object")
    if args.prompt is not None:
        data["prompt"] = args.prompt
    if args.ref:
        refs = []
        for item in args.ref:
            name, sep, source = item.partition("=")
            if not sep or not name or not source:
                raise UsageError(f"--ref {item!r}: expected NAME=SOURCE, e.g. --ref alice=https://example.com/alice.mp4")
            refs.append({"name": name, "source": source})
        data["references"] = [*data.get("references", []), *refs]
    for field in (
        "image",
        "audio",
        "negative_prompt",
        "resolution",
        "aspect_ratio",
        "duration",
        "shot_type",
        "seed",
        "prompt_expansion",
        "generate_audio",
        "safety_checker",
        "watermark",
    ):
        value = getattr(args, field)
        if value is not None:
            data[field] = value
    if "prompt" not in data:
        raise UsageError("give a prompt (as the first argument) or a --request file that has one")
    return data


@dataclass
class _Run:
    """What one ``generate`` got to, for the messages of an interruption or a failure."""

    provider: str = ""
    job: str | None = None
    remote_id: str | None = None
    mock: bool = False
    phase: str = "checking"  # checking, submitting, waiting, downloading
    target: str | None = None


def cmd_generate(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    run = _Run(provider=args.provider)
    try:
        return _cmd_generate(args, registry, out, run)
    except BaseException as exc:
        if not args.json or isinstance(exc, (BrokenPipeError, SystemExit)):
            raise
        from .cli import fail

        status = fail(exc, args)  # the one stderr line; stdout gets the same as one JSON object
        json.dump(_error_json(exc, status, run), out, indent=2)
        out.write("\n")
        return status
    finally:
        if signal.getsignal(signal.SIGINT) is _exit_at_once:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _error_json(exc: BaseException, status: int, run: _Run) -> dict[str, Any]:
    from .cli import cli_wording
    from .errors import ValidationError, Wan26Error
    from .redaction import redact_text

    error: dict[str, Any] = {
        "kind": "Interrupted" if isinstance(exc, KeyboardInterrupt) else type(exc).__name__,
        "message": redact_text(cli_wording(str(exc))) if not isinstance(exc, KeyboardInterrupt) else "interrupted",
        "code": getattr(exc, "native_code", None),
        "provider_message": getattr(exc, "native_message", None),
        "http_status": getattr(exc, "http_status", None),
    }
    if isinstance(exc, ValidationError):
        error["violations"] = [v.as_dict() for v in exc.violations]
    job = run.job or (getattr(exc, "job_id", None) or getattr(exc, "local_id", None) if isinstance(exc, Wan26Error) else None)
    return {
        "ok": False,
        "exit_status": status,
        "provider": run.provider,
        "job": job,
        "remote_id": run.remote_id,
        "mock": run.mock,
        "phase": run.phase,
        "error": error,
    }


def _cmd_generate(args: argparse.Namespace, registry: Registry, out: TextIO, run: _Run) -> int:
    from .cli import every_violation
    from .errors import ValidationError
    from .preflight import output_violations
    from .pricing import estimate_cost
    from .request import GenerationRequest

    err = sys.stderr
    provider = registry.get(args.provider)
    data = request_data(args)
    found = every_violation(data, provider)
    if not args.dry_run:  # where the video goes, checked with the request: before a cent is spent
        if args.output:
            found += output_violations(args.output, overwrite=args.overwrite)
        else:
            found += [v for v in output_violations(Path.cwd() / "wan26-job.mp4") if v.rule != "output.exists"]
    if any(v.severity == "error" for v in found):
        raise ValidationError([v for v in found if v.severity == "error"], provider=provider.id)
    request = GenerationRequest.from_dict(data)
    wire = provider.render(request)
    cost = estimate_cost(request, provider.contract)
    err.write(f"estimated cost: {cost if cost else 'not documented by the provider'}\n")
    if args.dry_run:
        json.dump(wire.as_dict(), out, indent=2, ensure_ascii=False)
        out.write("\n")
        return 0
    mock = args.mock or _missing_key(provider)
    run.mock = mock
    if mock and not args.mock:
        names = " or ".join(provider.contract.transport["auth"]["env"])
        err.write(f"wan26: {names} is not set: running on the embedded mock (no network, no cost, a test-pattern video).\n")
    elif mock:
        err.write("wan26: --mock: running on the embedded mock (no network, no cost, a test-pattern video).\n")
    import asyncio

    return asyncio.run(_generate(args, registry, request, mock, out, run))


async def _generate(
    args: argparse.Namespace, registry: Registry, request: GenerationRequest, mock: bool, out: TextIO, run: _Run
) -> int:
    import asyncio

    import httpx

    from .client import AsyncClient
    from .progress import Progress

    progress = Progress(sys.stderr)
    options: dict[str, Any] = {"registry": registry, "journal": _journal(args)}
    if mock:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=_embedded_app(registry)), timeout=60)
        # in process, httpx's ASGI transport hands over a response only once it is complete: poll, do not stream
        options.update(
            http=http, api_key="mock-key", base_url=EMBEDDED_BASE_URL, time_scale=EMBEDDED_TIME_SCALE, stream=False, mock=True
        )
    elif args.base_url:
        options["base_url"] = args.base_url
    interrupt = _Interrupt()
    try:
        async with AsyncClient(args.provider, **options) as client:
            run.phase = "submitting"
            job = await client.submit(
                request,
                webhook_url=args.webhook_url,
                label=args.label,
                output=args.output,
                overwrite=args.overwrite,
            )
            run.job, run.remote_id, run.phase = job.id, job.remote_id, "waiting"
            target = args.output or f"wan26-{job.id[:8]}.mp4"
            run.target = target
            if not args.output:
                client.want_output(job.local_id, target, args.overwrite)  # `jobs resume` fetches it if we die first
            progress.started(job.id, job.provider, job.remote_id)
            ticker = asyncio.create_task(progress.tick())
            try:
                result = await job.wait(timeout=args.timeout, cancel_on_timeout=args.cancel_on_timeout, on_update=progress.update)
            finally:
                ticker.cancel()
                progress.finish()
            run.phase = "downloading"
            file = await result.download(target, overwrite=args.overwrite)
    except asyncio.CancelledError:
        if not interrupt.fired:
            raise
        sys.stderr.write(_interrupted(run) + "\n")
        if args.json:
            json.dump({**_error_json(KeyboardInterrupt(), 130, run)}, out, indent=2)
            out.write("\n")
        return 130
    finally:
        interrupt.close()
        if mock:
            await options["http"].aclose()
    if args.json:
        json.dump(
            {
                "ok": True,
                "job": job.id,
                "provider": job.provider,
                "remote_id": job.remote_id,
                "mock": mock,
                "url": result.url,
                "path": str(file.path),
                "size": file.size,
                "sha256": file.sha256,
            },
            out,
            indent=2,
        )
        out.write("\n")
    else:
        out.write(f"{file.path} ({file.size} bytes) from {job.provider} {'mock ' if mock else ''}job {job.id}\n")
    return 0


def _interrupted(run: _Run) -> str:
    """What an interruption left behind, and the exact command that picks it up."""
    where = "the embedded mock" if run.mock else run.provider
    if run.job is None:
        return (
            f"wan26: interrupted while submitting to {where}: the submit may or may not have reached it."
            " `wan26 jobs resume` checks the journal and says what it knows"
        )
    short = run.job[:8]
    if run.phase == "downloading":
        return (
            f"wan26: interrupted while downloading job {short}: the video is not lost; `wan26 jobs resume` downloads it"
            f" to {run.target}"
        )
    keeps = "keeps running on the embedded mock" if run.mock else f"keeps running at {run.provider}"
    return (
        f"wan26: interrupted: job {short} {keeps}. Follow it with `wan26 status {short}`; wait for it and download"
        f" the video to {run.target} with `wan26 jobs resume`"
    )


def _exit_at_once(signum: int, frame: Any) -> None:
    """The second Ctrl-C: no more cleaning up."""
    with contextlib.suppress(OSError):
        os.write(2, b"\nwan26: interrupted again: exiting at once\n")
    os._exit(130)


class _Interrupt:
    """The first Ctrl-C cancels the running command (it then cleans up and says how to resume); the second exits."""

    def __init__(self) -> None:
        import asyncio

        self.fired = False
        self.loop = asyncio.get_running_loop()
        self.task: asyncio.Task[Any] | None = asyncio.current_task()
        self.installed = False
        try:
            self.loop.add_signal_handler(signal.SIGINT, self._first)
            self.installed = True
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here (Windows)
            pass

    def _first(self) -> None:
        self.fired = True
        self.loop.remove_signal_handler(signal.SIGINT)
        self.installed = False
        signal.signal(signal.SIGINT, _exit_at_once)
        sys.stderr.write("\nwan26: stopping (Ctrl-C again to exit at once)…\n")
        if self.task is not None:
            self.task.cancel()

    def close(self) -> None:
        if self.installed:
            with contextlib.suppress(Exception):
                self.loop.remove_signal_handler(signal.SIGINT)
            self.installed = False


def _missing_key(provider: Any) -> bool:
    """True when the provider's key is in none of its documented variables (its protocol decides, as the client does)."""
    from .errors import AuthenticationError
    from .protocol import ContractClientProtocol

    protocol = getattr(provider, "protocol", None) or ContractClientProtocol(provider.contract)
    try:
        protocol.api_key()
    except AuthenticationError:
        return True
    return False


def _embedded_app(registry: Registry) -> Any:
    from .errors import MissingExtraError

    try:
        from wan26_mock import create_app
    except ImportError:
        raise MissingExtraError("the embedded mock needs the [mock] extra: pip install 'wan26[mock]'") from None
    return create_app(registry)


def _journal(args: argparse.Namespace) -> Journal:
    from .journal import Journal

    return Journal(args.journal) if getattr(args, "journal", None) else Journal()


# --- follow-up commands ----------------------------------------------------------------------------
class _Clients:
    """The clients of one command: one for paid jobs, one for embedded-mock jobs (made when first needed)."""

    def __init__(self, args: argparse.Namespace, registry: Registry) -> None:
        self.args, self.registry = args, registry
        self.journal = _journal(args)
        self._real: Client | None = None
        self._mock: Client | None = None
        self._bridge: Any = None

    def __enter__(self) -> _Clients:
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
            from .client import Client

            self._real = Client(registry=self.registry, journal=self.journal)
        return self._real

    def mock(self) -> Client:
        if self._mock is None:
            import httpx

            from .client import Client
            from .errors import MissingExtraError

            try:
                from wan26_mock.engine import Engine

                from .testing.bridge import EngineBridge
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
        _revive(self._bridge.engine, record)
        return client

    def for_job(self, ident: str) -> tuple[Client, JobRecord]:
        record = self.journal.get(ident)
        return self.for_record(record), record


def _revive(engine: Any, record: JobRecord) -> None:
    """Give a fresh embedded mock the journaled mock job, as far along as the time since its submit makes it
    (the embedded mock lives in one process; its jobs are deterministic, so another process can replay them)."""
    if record.remote_id is None or record.remote_id in engine.jobs.jobs:
        return
    from wan26core.errors import NativeError
    from wan26core.wire import check_wire

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


def cmd_status(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    with _Clients(args, registry) as clients:
        client, record = clients.for_job(args.job)
        status = client.job(record.id).status()
    _print_status(status, out, args.json, mock=record.mock)
    return 0


def cmd_cancel(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    with _Clients(args, registry) as clients:
        client, record = clients.for_job(args.job)
        accepted = client.job(record.id).cancel()
    out.write("cancellation requested\n" if accepted else "too late to cancel: the job already finished or started\n")
    return 0 if accepted else 1


def cmd_result(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    from .errors import JobCancelledError, Wan26Error

    with _Clients(args, registry) as clients:
        client, record = clients.for_job(args.job)
        job = client.job(record.id)
        status = job.status()
        if status.state == "failed" and status.error is not None:
            raise status.error
        if status.state == "cancelled":
            raise JobCancelledError(f"{record.provider} job {record.short_id} was cancelled: it has no video", job_id=record.id)
        if not status.finished:
            where = f" (queue position {status.queue_position})" if status.queue_position is not None else ""
            raise Wan26Error(
                f"{record.provider} job {record.short_id} is still {status.state}{where}: no video yet. Check it with"
                f" `wan26 status {record.short_id}`, or wait and download it with `wan26 jobs resume`",
                provider=record.provider,
            )
        result = job.result()
        if args.output or getattr(args, "jobs_command", None) == "download":
            wanted = client.journal.get(job.id).wanted_output if client.journal is not None else None
            file = result.download(args.output or wanted or f"wan26-{result.job.id[:8]}.mp4", overwrite=args.overwrite)
            out.write(f"{file.path} ({file.size} bytes)\n")
        elif getattr(args, "json", False):
            json.dump({"url": result.url, "width": result.video.width, "height": result.video.height, "mock": record.mock}, out)
            out.write("\n")
        else:
            out.write(f"{result.url}\n")
    return 0


def cmd_jobs_list(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    with _journal(args) as journal:
        records = journal.list(unfinished=args.unfinished, provider=args.provider, limit=args.limit)
        if args.unfinished:  # a succeeded job whose video was never saved is not finished either (`jobs resume` fetches it)
            pending = [r for r in journal.pending_downloads() if args.provider in (None, r.provider)]
            records = sorted([*records, *pending], key=lambda r: r.created_at, reverse=True)[: args.limit]
        total = len(journal.list(provider=args.provider, limit=1)) if not records and args.unfinished else 0
    if args.json:
        json.dump([r.to_dict() for r in records], out, indent=2)
        out.write("\n")
        return 0
    if not records:
        if total:
            out.write("no unfinished jobs: every journaled job has finished (`wan26 jobs list` shows them)\n")
        else:
            out.write("no jobs in the journal\n")
    for r in records:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at))
        provider = f"{r.provider} (mock)" if r.mock else r.provider
        phase = "succeeded, download pending" if r.download_pending else r.phase
        out.write(f"{r.short_id}  {when}  {provider:<23} {phase:<10} {r.remote_id or '-'}  {r.label or ''}".rstrip() + "\n")
    return 0


def cmd_jobs_show(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    with _journal(args) as journal:
        record = journal.get(args.job)
        events = journal.events(record.id)
    json.dump({"job": record.to_dict(), "events": events}, out, indent=2, default=str)
    out.write("\n")
    return 0


def cmd_jobs_resume(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    """Wait for every unfinished journaled job that reached the provider (reporting the ones that did not), then fetch
    every succeeded job's video that was wanted at a path (``generate -o``) and never recorded as downloaded."""
    statuses = [0]  # each job's exit status; the command's is the gravest (3 uncertain > 2 usage > 1 failed)
    with _Clients(args, registry) as clients:
        journal = clients.journal
        records = journal.list(unfinished=True)
        pending = [] if args.no_download else journal.pending_downloads()
        if not records and not pending:
            out.write("nothing to resume: every journaled job has finished and every wanted video is downloaded\n")
        for record in records:
            statuses.append(_resume_one(clients, record, args, out))
        for record in pending:
            statuses.append(_fetch_pending(clients, record, out))
    return max(statuses)


def _fetch_pending(clients: _Clients, record: JobRecord, out: TextIO) -> int:
    """Download a job that succeeded earlier but whose download never completed (the process died, or it failed)."""
    from .errors import Wan26Error

    head = f"{record.short_id}  {_label(record)}: succeeded earlier, its download did not complete"
    try:
        client = clients.for_record(record)
        result = client.job(record.id).result()
    except Wan26Error as exc:
        out.write(f"{head}; cannot fetch its result: {type(exc).__name__}: {_said(exc)}\n")
        return _status_of(exc)
    return _save(client, record, result, head, out)


def _said(exc: BaseException) -> str:
    from .cli import cli_wording

    return cli_wording(str(exc))


def _status_of(exc: BaseException) -> int:
    from .cli import classify

    return classify(exc)[0]


def _label(record: JobRecord) -> str:
    return f"{record.provider} (mock)" if record.mock else record.provider


def _save(client: Client, record: JobRecord, result: Result, head: str, out: TextIO) -> int:
    """Download ``result`` to the job's wanted output; an existing file there is kept unless it is the same video."""
    from .errors import Wan26Error

    assert record.wanted_output is not None and client.journal is not None
    target = Path(record.wanted_output)
    try:
        if record.wanted_overwrite or not target.exists():
            file = result.download(target, overwrite=record.wanted_overwrite)
            out.write(f"{head}: fetched -> {file.path} ({file.size} bytes)\n")
            return 0
        if _same_video(client, result, target):  # the process died between the rename and journaling it
            client.journal.record_download(record.id, str(target.resolve()))
            out.write(f"{head}: {target} already holds this video; recorded\n")
            return 0
    except Wan26Error as exc:
        out.write(f"{head}; download to {target} failed: {type(exc).__name__}: {_said(exc)}\n")
        return 1
    out.write(
        f"{head}; {target} already exists with other content and was kept: run `wan26 jobs download {record.short_id}"
        " -o PATH` (or add --overwrite)\n"
    )
    return 1


def _same_video(client: Client, result: Result, target: Path) -> bool:
    """True when ``target`` holds exactly the result's video (size first, then the sha256 of a fresh download)."""
    from .download import download

    size = target.stat().st_size
    if result.video.file_size is not None and size != result.video.file_size:
        return False
    probe = target.with_name(f".{target.name}.check-{secrets.token_hex(6)}")
    try:
        fresh = download(result.url, probe, client=client.http, expected_size=result.video.file_size)
        return fresh.size == size and fresh.sha256 == _sha256(target)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(probe)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _resume_one(clients: _Clients, record: JobRecord, args: argparse.Namespace, out: TextIO) -> int:
    from .errors import AuthenticationError, JobTimeoutError, TransportError, Wan26Error

    label = _label(record)
    if record.remote_id is None:
        if record.phase == "intent":
            # the process stopped between journaling the intent and journaling the answer (a crash, kill -9): the
            # POST may or may not have been sent, and the provider may hold (and charge) a job we have no id for
            record = clients.journal.record_unknown(record.id, "the client stopped before the submit's answer was journaled")
        out.write(
            f"{record.short_id}  {label}: unknown outcome ({record.phase}): the submit may have reached the"
            " provider; check its dashboard before re-submitting\n"
        )
        return 1
    try:
        client = clients.for_record(record)
        result = client.job(record.id).wait(timeout=args.timeout)
    except AuthenticationError as exc:
        out.write(f"{record.short_id}  {label}: {_said(exc)}\n")
        return _status_of(exc)  # 2 when no key is set, 1 when the provider refused it
    except Wan26Error as exc:
        out.write(f"{record.short_id}  {label}: {type(exc).__name__}: {_said(exc)}\n")
        return 3 if isinstance(exc, (JobTimeoutError, TransportError)) else 0  # a job that ended (failed) is followed
    line = f"{record.short_id}  {label}: succeeded {result.url}"
    if args.no_download:
        out.write(line + "\n")
        return 0
    record = clients.journal.get(record.id)
    if record.wanted_output is not None:
        return _save(client, record, result, line, out)
    if args.download_dir:
        file = result.download(Path(args.download_dir) / f"wan26-{record.id[:8]}.mp4")
        line += f" -> {file.path}"
    out.write(line + "\n")
    return 0


def _print_status(status: JobStatus, out: TextIO, as_json: bool, *, mock: bool = False) -> None:
    if as_json:
        json.dump(
            {
                "state": status.state,
                "native": status.native,
                "queue_position": status.queue_position,
                "progress": status.progress,
                "logs": list(status.logs),
                "error": str(status.error) if status.error else None,
                "url": status.video.url if status.video else None,
                "mock": mock,
            },
            out,
        )
        out.write("\n")
        return
    parts = [status.state, f"({status.native})"]
    if status.queue_position is not None and status.state == "queued":
        parts.append(f"queue position {status.queue_position}")
    if status.progress is not None:
        parts.append(f"{status.progress:.0%}")
    if status.logs:
        parts.append(f"- {status.logs[-1]}")
    if status.error is not None:
        parts.append(f"- {status.error}")
    if mock:
        parts.append("[embedded mock]")
    out.write(" ".join(parts) + "\n")
