"""How the CLI words an error: the library's Python advice in command-line terms, the hint that ``wan26 jobs resume``
finishes what was interrupted, and the message for a journal that cannot be read."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

__all__ = ["cli_wording", "journal_message", "resume_hint", "took_journal"]


#: the library's Python advice, as a command-line user follows it
_CLI_WORDING: tuple[tuple[str, str], ...] = (
    (r" or (?:Async)?Client\.job\([^()]*\)\.wait\(\)", ""),
    (r" or pass api_key=", " in the environment"),
    (r"pass overwrite=True \(CLI: --overwrite\)", "pass --overwrite"),
    (r"pass --overwrite \(overwrite=True\)", "pass --overwrite"),
)


def cli_wording(text: str) -> str:
    """``text`` with the library's Python advice (``Client.job(…).wait()``, ``api_key=``) in command-line terms."""
    import re

    for pattern, replacement in _CLI_WORDING:
        text = re.sub(pattern, replacement, text)
    return text


def took_journal(exc: BaseException) -> bool:
    """A decoding error raised while reading the journal (not a request file or anything else)."""
    if not isinstance(exc, UnicodeDecodeError):
        return False
    frame = exc.__traceback__
    while frame is not None:
        if frame.tb_frame.f_globals.get("__name__") in ("wan26core._journal", "wan26core._journal_base", "wan26core._job_record"):
            return True
        frame = frame.tb_next
    return False


def resume_hint(exc: BaseException) -> str:
    from wan26core import _errors as errors

    text = str(exc)
    if "jobs resume" in text:
        return ""
    if isinstance(exc, errors.DownloadError):
        return "; the video is not lost: `wan26 jobs resume` downloads it again once the cause is fixed"
    return "; the job may exist at the provider: `wan26 jobs resume` finds out and finishes it"


def journal_message(exc: BaseException, args: argparse.Namespace | None) -> str:
    from wan26core._journal import default_journal_path

    explicit = getattr(args, "journal", None) if args is not None else None
    path = str(explicit) if explicit else str(default_journal_path())
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if type(exc).__name__ == "JournalError" and ("schema version" in detail or "PostgreSQL journal" in detail):
        return detail
    return (
        f"the job journal {path} cannot be read ({detail}); it is damaged or not a wan26 journal. Move it aside"
        f" (mv '{path}' '{path}.broken') and wan26 starts a new one, or point WAN26_HOME at another folder"
    )
