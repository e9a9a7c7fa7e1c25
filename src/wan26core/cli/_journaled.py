"""The commands over journaled jobs: ``wan26 status``, ``cancel``, ``result`` and ``jobs list / show / resume`` (a job's
record first, then its provider; a finished video is downloaded once and checked by size and hash)."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from wan26core._client import Client, Result
    from wan26core._journal import JobRecord
    from wan26core._plugins import Registry
    from wan26core._protocol import JobStatus
from wan26core.cli._clients import Clients, open_journal

__all__ = ["cmd_cancel", "cmd_jobs_list", "cmd_jobs_resume", "cmd_jobs_show", "cmd_result", "cmd_status"]


def cmd_status(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    with Clients(args, registry) as clients:
        client, record = clients.for_job(args.job)
        status = client.job(record.id).status()
    _print_status(status, out, args.json, mock=record.mock)
    return 0


def cmd_cancel(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    with Clients(args, registry) as clients:
        client, record = clients.for_job(args.job)
        accepted = client.job(record.id).cancel()
    out.write("cancellation requested\n" if accepted else "too late to cancel: the job already finished or started\n")
    return 0 if accepted else 1


def cmd_result(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    from wan26core._errors import JobCancelledError, Wan26Error

    with Clients(args, registry) as clients:
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
            from wan26core._journal_lease import Lease

            with Lease(clients.journal, record.id) as lease:  # one worker at a time downloads a job (docs/journal.md)
                if not lease.held:
                    raise Wan26Error(
                        f"another worker ({clients.journal.lease_holder(record.id)}) is following or downloading job"
                        f" {record.short_id} right now; try again when it is done (`wan26 jobs show {record.short_id}`)",
                        provider=record.provider,
                    )
                wanted = clients.journal.get(job.id).wanted_output
                file = result.download(args.output or wanted or f"wan26-{result.job.id[:8]}.mp4", overwrite=args.overwrite)
            out.write(f"{file.path} ({file.size} bytes)\n")
        elif getattr(args, "json", False):
            json.dump({"url": result.url, "width": result.video.width, "height": result.video.height, "mock": record.mock}, out)
            out.write("\n")
        else:
            out.write(f"{result.url}\n")
    return 0


def cmd_jobs_list(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    with open_journal(args) as journal:
        records = journal.list(unfinished=args.unfinished, provider=args.provider, limit=args.limit)
        if args.unfinished:  # a succeeded job whose video was never saved is not finished either (`jobs resume` fetches it)
            pending = [r for r in journal.pending_downloads() if args.provider in (None, r.provider)]
            records = sorted([*records, *pending], key=lambda r: r.created_at, reverse=True)[: args.limit]
        total = len(journal.list(provider=args.provider, limit=1)) if not records and args.unfinished else 0
        anything = bool(records) or bool(journal.list(limit=1)) if args.provider is not None else True
    if args.json:
        json.dump([r.to_dict() for r in records], out, indent=2)
        out.write("\n")
        return 0
    if not records:
        if total:
            out.write("no unfinished jobs: every journaled job has finished (`wan26 jobs list` shows them)\n")
        elif args.provider is not None and anything:
            out.write(f"no jobs match: none of the journaled jobs is a {args.provider} job (`wan26 jobs list` shows them all)\n")
        else:
            out.write("no jobs in the journal\n")
    for r in records:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at))
        provider = f"{r.provider} (mock)" if r.mock else r.provider
        phase = "succeeded, download pending" if r.download_pending else r.phase
        out.write(f"{r.short_id}  {when}  {provider:<23} {phase:<10} {r.remote_id or '-'}  {r.label or ''}".rstrip() + "\n")
    return 0


def cmd_jobs_show(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    with open_journal(args) as journal:
        record = journal.get(args.job)
        events = journal.events(record.id)
    json.dump({"job": record.to_dict(), "events": events}, out, indent=2, default=str)
    out.write("\n")
    return 0


def cmd_jobs_resume(args: argparse.Namespace, registry: Registry, out: TextIO) -> int:
    """Wait for every unfinished journaled job that reached the provider (reporting the ones that did not), then fetch
    every succeeded job's video that was wanted at a path (``generate -o``) and never recorded as downloaded.

    Each job is taken under a lease first (docs/journal.md): workers resuming one shared journal at once split the
    jobs between them, and a job another worker holds is waited for until it is done there or its lease runs out."""
    from wan26core._journal_claims import lease_holder_id
    from wan26core._journal_lease import lease_seconds

    statuses = [0]  # each job's exit status; the command's is the gravest (3 uncertain > 2 usage > 1 failed)
    with Clients(args, registry) as clients:
        journal = clients.journal
        records = journal.list(unfinished=True)
        pending = [] if args.no_download else journal.pending_downloads()
        if not records and not pending:
            out.write("nothing to resume: every journaled job has finished and every wanted video is downloaded\n")
        holder, ttl = lease_holder_id(), lease_seconds()
        # oldest first, the order they were paid in: first the jobs to follow, then the downloads to finish
        groups = [dict.fromkeys(r.id for r in reversed(records)), dict.fromkeys(r.id for r in pending)]
        deadline = time.monotonic() + args.timeout if args.timeout else None
        waited = False
        taken = 0
        while any(groups):
            job_id = next((got for group in groups if group and (got := journal.claim_next(list(group), holder, ttl))), None)
            if job_id is not None:
                for group in groups:
                    group.pop(job_id, None)
                statuses.append(_work(clients, job_id, holder, args, out))
                taken += 1
                if taken % _PRUNE_EVERY == 0:  # forget the jobs other workers finished: shorter claims
                    left = set(journal.not_done([i for group in groups for i in group]))
                    groups = [{i: None for i in group if i in left} for group in groups]
                continue
            held = journal.not_done([i for group in groups for i in group])  # the rest: done elsewhere, or held
            if not held:
                break
            if deadline is not None and time.monotonic() > deadline:
                for job_id in held:
                    out.write(f"{job_id[:8]}  still held by another worker ({journal.lease_holder(job_id)}); not waited for\n")
                statuses.append(3)
                break
            if not waited:
                out.write(f"{len(held)} job(s) held by other workers: waiting until they finish there or their lease runs out\n")
                waited = True
            time.sleep(_LEASE_POLL_S)
    return max(statuses)


#: how often a worker looks again at jobs that other workers hold
_LEASE_POLL_S = 0.5
#: after how many jobs of its own a worker drops from its list the jobs others have finished
_PRUNE_EVERY = 16


def _work(clients: Clients, job_id: str, holder: str, args: argparse.Namespace, out: TextIO) -> int:
    """Resume one job whose lease this worker took: renewed while it runs, released at the end."""
    from wan26core._journal_lease import Lease

    journal = clients.journal
    with Lease(journal, job_id, holder=holder, taken=True):
        record = journal.get(job_id)  # as it is now: another worker may have moved it on since the list was read
        if record.download_pending:
            return 0 if args.no_download else _fetch_pending(clients, record, out)
        if not record.finished:
            return _resume_one(clients, record, args, out)
    return 0


def _fetch_pending(clients: Clients, record: JobRecord, out: TextIO) -> int:
    """Download a job that succeeded earlier but whose download never completed (the process died, or it failed)."""
    from wan26core._errors import Wan26Error

    head = f"{record.short_id}  {_label(record)}: succeeded earlier, its download did not complete"
    try:
        client = clients.for_record(record)
        result = client.job(record.id).result()
    except Wan26Error as exc:
        out.write(f"{head}; cannot fetch its result: {type(exc).__name__}: {_said(exc)}\n")
        return _status_of(exc)
    return _save(client, record, result, head, out)


def _said(exc: BaseException) -> str:
    from wan26core.cli._messages import cli_wording

    return cli_wording(str(exc))


def _status_of(exc: BaseException) -> int:
    from wan26core.cli import classify

    return classify(exc)[0]


def _label(record: JobRecord) -> str:
    return f"{record.provider} (mock)" if record.mock else record.provider


def _save(client: Client, record: JobRecord, result: Result, head: str, out: TextIO) -> int:
    """Download ``result`` to the job's wanted output; an existing file there is kept unless it is the same video."""
    from wan26core._errors import Wan26Error

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
    from wan26core._download import download

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


def _resume_one(clients: Clients, record: JobRecord, args: argparse.Namespace, out: TextIO) -> int:
    from wan26core._errors import AuthenticationError, JobTimeoutError, TransportError, Wan26Error

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
