"""Pre-flight checks of where a paid job's video will go, made before the submit that costs money.

:func:`output_violations` says everything wrong with an output path at once — an existing file without
``overwrite``, a directory, something that is not a regular file (``/dev/full``), a folder that is read-only
or cannot be created (missing folders are created by the download), too little free space when the size is
known — as :class:`~wan26core._errors.Violation` values that are reported together with the request's own
violations, before the first POST.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from wan26core._download import free_bytes
from wan26core._errors import Violation

__all__ = ["output_violations"]


def output_violations(
    path: str | os.PathLike[str], *, overwrite: bool = False, expected_size: int | None = None, field: str = "output"
) -> list[Violation]:
    """What stops a video from being saved at ``path``; empty when it can be."""
    target = Path(path)
    found: list[Violation] = []

    def add(rule: str, message: str) -> None:
        found.append(Violation(field, rule, message, value=str(target)))

    try:
        info = os.stat(target)
    except (FileNotFoundError, NotADirectoryError):  # the folder check below says why
        info = None
        if os.path.islink(target) and not overwrite:  # a dangling link: the download's final rename would meet it
            add("output.exists", f"{target} is a symbolic link to a missing file; pass --overwrite to replace the link itself")
    except OSError as exc:
        add("output.unusable", f"cannot use {target}: {exc.strerror or exc}")
        return found
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            add("output.directory", f"{target} is a directory; give a file name (e.g. {target / 'out.mp4'})")
            return found
        if not stat.S_ISREG(info.st_mode):
            add("output.not_file", f"{target} is not a regular file (a device, pipe or socket); wan26 never replaces one")
            return found
        if not overwrite:
            add("output.exists", f"{target} already exists; pass --overwrite (overwrite=True) to replace it")
    folder = target.parent
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)  # missing folders are created
    if existing is None:  # pragma: no cover - the root always exists
        add("output.folder", f"no part of {folder} exists")
    elif not existing.is_dir():
        add("output.folder", f"{existing} is not a folder, so {target} cannot be created; give another -o path")
    elif not os.access(existing, os.W_OK | os.X_OK):
        what = f"the folder {existing}" if existing == folder else f"{folder} cannot be created: {existing}"
        add("output.folder", f"{what} is not writable (a read-only file system or no permission); give another -o path")
    elif _pseudo_filesystem(existing):
        add(
            "output.folder",
            f"{existing} is on a pseudo file system (like /proc or /sys) that holds no files; give another -o path",
        )
    elif expected_size is not None:
        free = free_bytes(folder)
        if free is not None and free < expected_size:
            add("output.space", f"{free} bytes free in {folder}; the video needs about {expected_size}")
    return found


def _pseudo_filesystem(folder: Path) -> bool:
    """True for /proc, /sys and their like: a file system of no blocks, where writes fail after the job is paid."""
    try:
        return os.statvfs(folder).f_blocks == 0
    except (OSError, AttributeError):  # no statvfs (Windows), or it cannot tell: let the download say
        return False
