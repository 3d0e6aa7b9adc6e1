"""Which files an extract run reads: PDFs and images, given one by one or as folders (searched recursively)."""

from __future__ import annotations

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
        if not path.exists():
            found.problems.append((str(path), f"{path} does not exist; check the path"))
            continue
        if path.is_dir():
            try:
                candidates = sorted(p for p in path.rglob("*") if p.is_file() and _supported(p))
            except OSError as exc:
                found.problems.append((str(path), f"cannot read folder {path}: {exc.strerror}; check its permissions"))
                continue
            if not candidates:
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


def _supported(path: Path) -> bool:
    suffix = path.suffix.lower()
    return suffix in PDF_SUFFIXES or suffix in IMAGE_SUFFIXES
