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
import json
import math
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import asyncio

    from wan26core._plugins import Registry
    from wan26core._rules.request import GenerationRequest

from wan26core.cli._clients import (
    EMBEDDED_BASE_URL,
    EMBEDDED_TIME_SCALE,
    embedded_app,
    missing_key,
    open_journal,
    revive,
)
from wan26core.cli._journaled import cmd_cancel, cmd_jobs_list, cmd_jobs_resume, cmd_jobs_show, cmd_result, cmd_status
from wan26core.cli._migrate import cmd_jobs_migrate
from wan26core.cli._parsing import Argument, add_commands

__all__ = ["register"]


def _seconds(text: str) -> float:
    """A --timeout: a finite number of seconds above 0 (refused by argparse, exit 2, before anything is sent)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0 (e.g. 600)")
    return value


#: the most jobs one `jobs list` shows (--limit); more would not fit a database integer, nor a screen
MAX_LIST_LIMIT = 1_000_000


def _count(text: str) -> int:
    """A --limit: a whole number from 1 to :data:`MAX_LIST_LIMIT`."""
    try:
        value = int(text) if len(text) <= 20 else 0
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_LIST_LIMIT:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number above 0 and at most {MAX_LIST_LIMIT:,} (e.g. 50)")
    return value


#: the subcommands that share _JOB_ARGUMENTS
_JOB_COMMANDS = [
    ("status", cmd_status, "ask the provider for a journaled job's status"),
    ("cancel", cmd_cancel, "ask the provider to cancel a journaled job"),
]
_JOB_ARGUMENTS: list[Argument] = [
    (("job",), {"help": "local job id (or a unique prefix), or the provider's job id"}),
    (("--json",), {"action": "store_true"}),
    (("--journal",), {"help": "journal file or postgresql:// URL"}),
]


def register(sub: Any) -> None:
    """Add the job commands to the ``wan26`` parser."""
    gen = sub.add_parser("generate", help="submit a request, wait for it and download the video")
    gen.add_argument("prompt", nargs="?", help="the prompt; @name refers to --ref name=…")
    gen.add_argument("--provider", "-p", required=True, help="provider/model, e.g. fal/r2v-flash")
    gen.add_argument("--request", "-r", help="a request JSON file to start from (command-line options override it)")
    gen.add_argument("--ref", action="append", default=[], metavar="NAME=SOURCE", help="a named reference (URL or path)")
    gen.add_argument("--image", help="first frame (image-to-video; beside the references on Wan 2.7 reference-to-video)")
    gen.add_argument("--last-frame", help="last frame (Wan 2.7 image-to-video)")
    gen.add_argument("--clip", help="a video clip to continue (Wan 2.7 image-to-video)")
    gen.add_argument(
        "--voice", action="append", default=[], metavar="NAME=SOURCE", help="a voice sample for reference NAME (Wan 2.7)"
    )
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
    gen.add_argument(
        "--idempotency-key",
        metavar="KEY",
        help="submit at most once per KEY across every worker sharing the journal: a repeat returns the first job"
        " while it is unfinished or less than 24 h old ('fingerprint': the request itself is the key)",
    )
    gen.add_argument("--base-url", help="the provider's base URL (default: its environment variable, then the real API)")
    gen.add_argument("--json", action="store_true", help="print the outcome as JSON")
    gen.set_defaults(handler=cmd_generate)

    add_commands(sub, _JOB_COMMANDS, _JOB_ARGUMENTS)
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
    listing.add_argument(
        "--limit", type=_count, default=50, help=f"show at most this many (default 50, at most {MAX_LIST_LIMIT:,})"
    )
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
    migrate = jobs_sub.add_parser("migrate", help="copy every job of one journal into another (a file into PostgreSQL)")
    migrate.add_argument("--from", dest="source", required=True, help="the journal to copy from (a file or a URL)")
    migrate.add_argument("--to", dest="target", required=True, help="the journal to copy into, e.g. postgresql://host/db")
    migrate.set_defaults(handler=cmd_jobs_migrate)
    for cmd in (listing, show, resume, dl, result, gen):
        cmd.add_argument(
            "--journal",
            help="journal file or postgresql:// URL (default: $WAN26_JOURNAL_URL, else $WAN26_HOME/journal.sqlite3"
            " or the user data folder)",
        )


# --- generate --------------------------------------------------------------------------------------
def request_data(args: argparse.Namespace) -> dict[str, Any]:
    """The request as JSON-like data: the --request file, then the command-line options over it."""
    from wan26core.cli import UsageError

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
    voiced: set[str] = set()
    for item in args.voice:
        name, sep, source = item.partition("=")
        if not sep or not name or not source:
            raise UsageError(f"--voice {item!r}: expected NAME=SOURCE, e.g. --voice alice=https://example.com/alice.mp3")
        named = [r for r in data.get("references", []) if isinstance(r, dict) and r.get("name") == name]
        if not named:
            raise UsageError(f"--voice {item!r}: no reference is named {name!r} (name it with --ref {name}=SOURCE)")
        if name in voiced:
            raise UsageError(f"--voice {item!r}: reference {name!r} has a voice already (one voice per reference)")
        voiced.add(name)
        named[0]["voice"] = source
    for field in (
        "image",
        "last_frame",
        "clip",
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
        from wan26core.cli import fail

        status = fail(exc, args)  # the one stderr line; stdout gets the same as one JSON object
        json.dump(_error_json(exc, status, run), out, indent=2)
        out.write("\n")
        return status
    finally:
        if signal.getsignal(signal.SIGINT) is _exit_at_once:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _error_json(exc: BaseException, status: int, run: _Run) -> dict[str, Any]:
    from wan26core._errors import ValidationError, Wan26Error
    from wan26core._redaction import redact_text
    from wan26core.cli._messages import cli_wording

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
    from wan26core._errors import ValidationError
    from wan26core._preflight import output_violations
    from wan26core._pricing import estimate_cost
    from wan26core._rules.request import GenerationRequest
    from wan26core.cli import UsageError, every_violation

    err = sys.stderr
    if args.idempotency_key is not None:
        from wan26core._journal_base import IdempotencyKeyError, check_idempotency_key

        try:
            check_idempotency_key(args.idempotency_key)
        except IdempotencyKeyError as exc:
            raise UsageError(f"--idempotency-key: {exc}") from None
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
        estimate = cost.as_json() if cost else {"estimated_cost_usd": None, "estimated_cost_usd_max": None}
        json.dump({**wire.as_dict(), **estimate} if args.json else wire.as_dict(), out, indent=2, ensure_ascii=False)
        out.write("\n")
        return 0
    mock = args.mock or missing_key(provider)
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

    from wan26core._client import AsyncClient
    from wan26core._progress import Progress

    progress = Progress(sys.stderr)
    options: dict[str, Any] = {"registry": registry, "journal": open_journal(args)}
    app = embedded_app(registry) if mock else None
    if app is not None:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), timeout=60)
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
                idempotency_key=True if args.idempotency_key == "fingerprint" else args.idempotency_key,
            )
            run.job, run.remote_id, run.phase = job.id, job.remote_id, "waiting"
            if app is not None and client.journal is not None and job.local_id is not None:
                revive(app.state.engine, client.journal.get(job.local_id))  # an idempotency key's earlier mock job
            target = args.output or f"wan26-{job.id[:8]}.mp4"
            run.target = target
            if not args.output:
                client.want_output(job.local_id, target, args.overwrite)  # `jobs resume` fetches it if we die first
            shown = None
            if job.reused:  # the key answered with its first job: nothing was submitted now
                from wan26core._journal_base import shown_key

                shown = shown_key(args.idempotency_key) if args.idempotency_key != "fingerprint" else "fingerprint"
            progress.started(job.id, job.provider, job.remote_id, key=shown)
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
        options["journal"].close()  # a PostgreSQL journal's pool, a SQLite file's connection
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
