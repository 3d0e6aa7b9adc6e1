"""`process_file`: the per-document entry point the extract stage runs in its worker processes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from remud_gen.errors import InputError
from remud_gen.extract.crops import wait_for_writes
from remud_gen.extract.imagefile import IMAGE_SUFFIXES, extract_image
from remud_gen.extract.pdf import extract_pdf
from remud_gen.extract.result import FileResult
from remud_gen.extract.settings import ExtractSettings
from remud_gen.hashing import file_digest
from remud_gen.records import Figure

if TYPE_CHECKING:
    from remud_gen.extract.vlm.job import VlmJob


def process_file(
    path: Path,
    work: Path,
    settings: ExtractSettings,
    vlm: VlmJob | None = None,
    sink: Callable[[Figure], None] | None = None,
    pages: Sequence[Path] | None = None,
) -> FileResult:
    """Extract one PDF or image file, or one book of page images.

    Crops are written to WORK/extract/images/<sha256[:20]>.png|.jpg (atomically, once per content); the records
    are returned, not written. Everything passed in and out pickles, so this runs in a worker process.

    Args:
        path: a .pdf or an image (.png .jpg .jpeg .tif .tiff .bmp .webp; see `remud_gen.extract.imagefile` for
            the captions.csv / captions.json sidecar convention).
        work: the work directory (WORK).
        settings: extract settings.
        vlm: the vision endpoint for `settings.detector == "vlm"` (None: scanned pages keep image analysis).
        sink: called with each figure of a PDF as soon as its page is rendered; those figures are then not in the
            result, so a 1,000-page book's records are never all held at once.
        pages: the page images of one book, in order, `path` being the first (`remud_gen.extract.pageimages`):
            they are read as the scanned pages of one document.

    Returns:
        The Document, its Figure panels, its text Chunks, and one-line warnings about parts that were skipped.

    Raises:
        InputError: the file is missing, unreadable, corrupt, encrypted without the right password, empty,
            of an unsupported type, or an image over `settings.max_image_pixels`.

    Example:
        >>> result = process_file(Path("atlas.pdf"), Path("out"), ExtractSettings(dpi=150))  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file (or not a regular file: a folder, a pipe or a device)")
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES and suffix != ".pdf":
        raise InputError(f"{path.name}: unsupported file type {suffix or '(none)'}; pass .pdf or image files")
    members = list(pages) if pages else [path]
    hashes = []
    for member in members:
        try:
            hashes.append(file_digest(member))
        except OSError as exc:
            raise InputError(f"{member.name}: cannot be read ({exc.strerror or exc}); check its permissions") from None
        if member.stat().st_size == 0:
            raise InputError(f"{member.name}: the file is empty")
    sha = hashes[0] if len(hashes) == 1 else hashlib.sha256("".join(hashes).encode()).hexdigest()
    try:
        if pages:
            return extract_pdf(path, work, settings, sha, vlm, sink, page_images=members)
        if suffix == ".pdf":
            return extract_pdf(path, work, settings, sha, vlm, sink)
        return extract_image(path, work, settings, sha)
    finally:
        wait_for_writes()  # records name crops that are written on a background thread
