"""``wan26 generate | status | result | cancel | jobs …``: run and follow jobs from the command line.

Without the provider's key (or with ``--mock``) ``generate`` runs on the embedded mock server, in
process: no network, no cost, and still a real, playable MP4 (a test pattern of the requested shape).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import httpx

from .client import AsyncClient, Client, Result
from .download import download
from .errors import AuthenticationError, JobTimeoutError, MissingExtraError, ValidationError, Wan26Error
from .journal import JobRecord, Journal, default_journal_path
from .plugins import Registry
from .pricing import estimate_cost
from .progress import Progress
from .protocol import ContractClientProtocol, JobStatus
from .request import GenerationRequest

__all__ = ["register"]

EMBEDDED_BASE_URL = "http://wan26-embedded-mock.invalid"
#: the embedded mock's fast profile finishes a job in about a second; poll as if time ran this much faster
EMBEDDED_TIME_SCALE = 50.0


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
    gen.add_argument("--timeout", type=float, help="give up waiting after this many seconds (the job is kept)")
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
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_jobs_list)
    show = jobs_sub.add_parser("show", help="one job with its recorded events")
    show.add_argument("job")
    show.set_defaults(handler=cmd_jobs_show)
    resume = jobs_sub.add_parser(
        "resume", help="wait for every unfinished job the provider accepted, and fetch every video whose download did not finish"
    )
    resume.add_argument("--timeout", type=float)
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
def build_request(args: argparse.Namespace) -> GenerationRequest:
    data: dict[str, Any] = {}
    if args.request:
        try:
            data = json.loads(Path(args.request).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise Wan26Error(f"cannot read request file {args.request}: {exc}") from None
        if not isinstance(data, dict):
            raise Wan26Error(f"{args.request} must hold a JSON object")
    if args.prompt is not None:
        data["prompt"] = args.prompt
    if args.ref:
        refs = []
        for item in args.ref:
            name, sep, source = item.partition("=")
            if not sep or not name or not source:
                raise Wan26Error(f"--ref {item!r}: expected NAME=SOURCE, e.g. --ref alice=https://example.com/alice.mp4")
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
        raise Wan26Error("give a prompt (as the first argument) or a --request file that has one")
    return GenerationRequest.from_dict(data)


def cmd_generate(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    err = sys.stderr
    try:
        request = build_request(args)
        provider = registry.get(args.provider)
        wire = provider.render(request)
    except ValidationError as exc:
        err.write(f"wan26: {exc}\n")
        return 1
    cost = estimate_cost(request, provider.contract)
    err.write(f"estimated cost: {cost if cost else 'not documented by the provider'}\n")
    if args.dry_run:
        json.dump(wire.as_dict(), out, indent=2, ensure_ascii=False)
        out.write("\n")
        return 0
    mock = args.mock or _missing_key(provider)
    if mock and not args.mock:
        names = " or ".join(provider.contract.transport["auth"]["env"])
        err.write(f"wan26: {names} is not set: running on the embedded mock (no network, no cost, a test-pattern video).\n")
    elif mock:
        err.write("wan26: --mock: running on the embedded mock (no network, no cost, a test-pattern video).\n")
    try:
        return asyncio.run(_generate(args, registry, request, mock, out))
    except ValidationError as exc:  # found at submit time (a local file the provider cannot take, or its refusal)
        err.write(f"wan26: {exc}\n")
        return 1


async def _generate(args: argparse.Namespace, registry: Registry, request: GenerationRequest, mock: bool, out: TextIO) -> int:
    progress = Progress(sys.stderr)
    options: dict[str, Any] = {"registry": registry, "journal": _journal(args, mock)}
    if mock:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=_embedded_app(registry)), timeout=60)
        # in process, httpx's ASGI transport hands over a response only once it is complete: poll, do not stream
        options.update(http=http, api_key="mock-key", base_url=EMBEDDED_BASE_URL, time_scale=EMBEDDED_TIME_SCALE, stream=False)
    elif args.base_url:
        options["base_url"] = args.base_url
    try:
        async with AsyncClient(args.provider, **options) as client:
            job = await client.submit(request, webhook_url=args.webhook_url, label=args.label)
            target = args.output or f"wan26-{job.id[:8]}.mp4"
            client.want_output(job.local_id, target, args.overwrite)  # `jobs resume` fetches it if we die first
            progress.started(job.id, job.provider, job.remote_id)
            ticker = asyncio.create_task(progress.tick())
            try:
                result = await job.wait(timeout=args.timeout, cancel_on_timeout=args.cancel_on_timeout, on_update=progress.update)
            finally:
                ticker.cancel()
                progress.finish()
            file = await result.download(target, overwrite=args.overwrite)
    except JobTimeoutError as exc:
        sys.stderr.write(f"wan26: {exc}\n")
        return 3
    finally:
        if mock:
            await options["http"].aclose()
    if args.json:
        json.dump(
            {
                "job": job.id,
                "provider": job.provider,
                "remote_id": job.remote_id,
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
        out.write(f"{file.path} ({file.size} bytes) from {job.provider} job {job.id}\n")
    return 0


def _missing_key(provider: Any) -> bool:
    """True when the provider's key is in none of its documented variables (its protocol decides, as the client does)."""
    protocol = getattr(provider, "protocol", None) or ContractClientProtocol(provider.contract)
    try:
        protocol.api_key()
    except AuthenticationError:
        return True
    return False


def _embedded_app(registry: Registry) -> Any:
    try:
        from wan26_mock import create_app
    except ImportError:
        raise MissingExtraError("the embedded mock needs the [mock] extra: pip install 'wan26[mock]'") from None
    return create_app(registry)


def _journal(args: argparse.Namespace, mock: bool) -> Journal:
    if getattr(args, "journal", None):
        return Journal(args.journal)
    if mock:  # mock jobs stay out of the journal of real, paid jobs
        return Journal(default_journal_path().with_name("embedded-mock.sqlite3"))
    return Journal()


# --- follow-up commands ----------------------------------------------------------------------------
def _client(args: argparse.Namespace, registry: Registry) -> Client:
    return Client(registry=registry, journal=_journal(args, False))


def cmd_status(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    with _client(args, registry) as client:
        status = client.job(args.job).status()
    _print_status(status, out, args.json)
    return 0


def cmd_cancel(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    with _client(args, registry) as client:
        accepted = client.job(args.job).cancel()
    out.write("cancellation requested\n" if accepted else "too late to cancel: the job already finished or started\n")
    return 0 if accepted else 1


def cmd_result(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    with _client(args, registry) as client:
        job = client.job(args.job)
        result = job.result()
        if args.output or getattr(args, "jobs_command", None) == "download":
            assert client.journal is not None
            wanted = client.journal.get(job.id).wanted_output  # where `generate -o` meant it to go
            file = result.download(args.output or wanted or f"wan26-{result.job.id[:8]}.mp4", overwrite=args.overwrite)
            out.write(f"{file.path} ({file.size} bytes)\n")
        elif getattr(args, "json", False):
            json.dump({"url": result.url, "width": result.video.width, "height": result.video.height}, out)
            out.write("\n")
        else:
            out.write(f"{result.url}\n")
    return 0


def cmd_jobs_list(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    with _journal(args, False) as journal:
        records = journal.list(unfinished=args.unfinished, provider=args.provider, limit=args.limit)
    if args.json:
        json.dump([r.to_dict() for r in records], out, indent=2)
        out.write("\n")
        return 0
    if not records:
        out.write("no jobs in the journal\n")
    for r in records:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at))
        out.write(f"{r.short_id}  {when}  {r.provider:<16} {r.phase:<10} {r.remote_id or '-'}  {r.label or ''}\n".rstrip() + "\n")
    return 0


def cmd_jobs_show(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    with _journal(args, False) as journal:
        record = journal.get(args.job)
        events = journal.events(record.id)
    json.dump({"job": record.to_dict(), "events": events}, out, indent=2, default=str)
    out.write("\n")
    return 0


def cmd_jobs_resume(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    """Wait for every unfinished journaled job that reached the provider (reporting the ones that did not), then fetch
    every succeeded job's video that was wanted at a path (``generate -o``) and never recorded as downloaded."""
    failures = 0
    with _client(args, registry) as client:
        assert client.journal is not None
        records = client.journal.list(unfinished=True)
        pending = [] if args.no_download else client.journal.pending_downloads()
        if not records and not pending:
            out.write("nothing to resume: every journaled job has finished and every wanted video is downloaded\n")
        for record in records:
            failures += _resume_one(client, record, args, out)
        for record in pending:
            failures += _fetch_pending(client, record, out)
    return 1 if failures else 0


def _fetch_pending(client: Client, record: JobRecord, out: TextIO) -> int:
    """Download a job that succeeded earlier but whose download never completed (the process died, or it failed)."""
    head = f"{record.short_id}  {record.provider}: succeeded earlier, its download did not complete"
    try:
        result = client.job(record.id).result()
    except Wan26Error as exc:
        out.write(f"{head}; cannot fetch its result: {type(exc).__name__}: {exc}\n")
        return 1
    return _save(client, record, result, head, out)


def _save(client: Client, record: JobRecord, result: Result, head: str, out: TextIO) -> int:
    """Download ``result`` to the job's wanted output; an existing file there is kept unless it is the same video."""
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
        out.write(f"{head}; download to {target} failed: {type(exc).__name__}: {exc}\n")
        return 1
    out.write(
        f"{head}; {target} already exists with other content and was kept: run `wan26 jobs download {record.short_id}"
        " -o PATH` (or add --overwrite)\n"
    )
    return 1


def _same_video(client: Client, result: Result, target: Path) -> bool:
    """True when ``target`` holds exactly the result's video (size first, then the sha256 of a fresh download)."""
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


def _resume_one(client: Client, record: JobRecord, args: argparse.Namespace, out: TextIO) -> int:
    if record.remote_id is None:
        if record.phase == "intent" and client.journal is not None:
            # the process stopped between journaling the intent and journaling the answer (a crash, kill -9): the
            # POST may or may not have been sent, and the provider may hold (and charge) a job we have no id for
            record = client.journal.record_unknown(record.id, "the client stopped before the submit's answer was journaled")
        out.write(
            f"{record.short_id}  {record.provider}: unknown outcome ({record.phase}): the submit may have reached the"
            " provider; check its dashboard before re-submitting\n"
        )
        return 1
    try:
        result = client.job(record.id).wait(timeout=args.timeout)
    except AuthenticationError as exc:
        out.write(f"{record.short_id}  {record.provider}: {exc}\n")
        return 1
    except Wan26Error as exc:
        out.write(f"{record.short_id}  {record.provider}: {type(exc).__name__}: {exc}\n")
        return 0 if not isinstance(exc, JobTimeoutError) else 1
    line = f"{record.short_id}  {record.provider}: succeeded {result.url}"
    if args.no_download:
        out.write(line + "\n")
        return 0
    assert client.journal is not None
    record = client.journal.get(record.id)
    if record.wanted_output is not None:
        return _save(client, record, result, line, out)
    if args.download_dir:
        file = result.download(Path(args.download_dir) / f"wan26-{record.id[:8]}.mp4")
        line += f" -> {file.path}"
    out.write(line + "\n")
    return 0


def _print_status(status: JobStatus, out: TextIO, as_json: bool) -> None:
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
    out.write(" ".join(parts) + "\n")
