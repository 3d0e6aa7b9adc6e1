"""Which files an extract run reads: PDFs and images, given one by one or as folders (searched recursively).

Only regular files are read: a named pipe or a link to a device (/dev/zero) would block the run or never end, so each
is reported and skipped, as are broken links, links that loop and folders that cannot be read.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

PDF_SUFFIXES = frozenset({".pdf"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"})


@dataclass
class Inputs:
    """Files to extract, and one-line problems with inputs that could not be used."""

    files: list[Path] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (input, message)


def expand(paths: list[Path]) -> Inputs:
    """Resolve files and folders into a sorted, de-duplicated list of supported files."""
    found = Inputs()
    seen: set[Path] = set()
    for path in paths:
        kind, problem = _kind(path)
        if problem:
            found.problems.append((str(path), problem))
            continue
        if kind == "dir":
            known = len(found.problems)
            candidates = _walk(path, found)
            if not candidates and len(found.problems) == known:
                found.problems.append((str(path), f"{path} holds no PDF or image files"))
        elif _supported(path):
            candidates = [path]
        else:
            found.problems.append(
                (str(path), f"{path.name} is not a PDF or an image ({path.suffix or 'no suffix'}); give .pdf or images")
            )
            continue
        for p in candidates:
            resolved = p.resolve()
            if resolved not in seen:
                seen.add(resolved)
                found.files.append(resolved)
    return found


def _kind(path: Path) -> tuple[str, str | None]:
    """("dir" or "file", None), or what is wrong with ``path`` as an input."""
    try:
        info = path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "", f"{path} is a symbolic link that loops back on itself; point it at a real file"
        if path.is_symlink():
            return "", f"{path} is a broken symbolic link (to {os.readlink(path)}); point it at a real file"
        if isinstance(exc, FileNotFoundError):
            return "", f"{path} does not exist; check the path"
        return "", f"cannot read {path}: {exc.strerror or exc}; check its permissions"
    if stat.S_ISDIR(info.st_mode):
        return "dir", None
    if not stat.S_ISREG(info.st_mode):
        mode = info.st_mode
        what = "a named pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        return "", f"{path} is {what}, not a regular file: it could block the run forever; give PDF or image files"
    return "file", None


def _walk(folder: Path, found: Inputs) -> list[Path]:
    """The supported files under ``folder`` (links followed, each folder read once); problems go to ``found``."""
    candidates: list[Path] = []
    visited: set[tuple[int, int]] = set()

    def unreadable(exc: OSError) -> None:
        where = exc.filename or folder
        found.problems.append((str(where), f"cannot read folder {where}: {exc.strerror}; check its permissions"))

    for root, dirs, files in os.walk(folder, onerror=unreadable, followlinks=True):
        here = Path(root)
        info = here.stat()
        if (info.st_dev, info.st_ino) in visited:
            found.problems.append((root, f"{here} links back to a folder already read; skipped"))
            dirs[:] = []
            continue
        visited.add((info.st_dev, info.st_ino))
        dirs.sort()
        for name in sorted(files):
            path = here / name
            if not _supported(path) and not path.is_symlink():
                continue  # notes, sidecars, anything else that lives beside the books
            kind, problem = _kind(path)
            if problem:
                found.problems.append((str(path), problem))
            elif kind == "file" and _supported(path):
                candidates.append(path)
    return candidates


def _supported(path: Path) -> bool:
    suffix = path.suffix.lower()
    return suffix in PDF_SUFFIXES or suffix in IMAGE_SUFFIXES
