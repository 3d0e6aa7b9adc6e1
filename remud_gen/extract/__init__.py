"""Extract: find every figure, its caption and its context, and the body text, in PDFs and image files.

The per-document core is `process_file` (`remud_gen.extract.core`); the stage around it (worker processes, skipping,
JSONL output, manifest) lives in `remud_gen.extract.stage`. Importing this package is cheap: the PDF and image
libraries load when a document is processed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from remud_gen.extract.result import FileResult
from remud_gen.extract.settings import ExtractSettings

if TYPE_CHECKING:
    from remud_gen.extract.vlm.job import VlmJob
    from remud_gen.records import Figure


def process_file(
    path: Path,
    work: Path,
    settings: ExtractSettings,
    vlm: VlmJob | None = None,
    sink: Callable[[Figure], None] | None = None,
) -> FileResult:
    """Extract one PDF or image file; see `remud_gen.extract.core.process_file`."""
    from remud_gen.extract.core import process_file as process

    return process(path, work, settings, vlm, sink)


__all__ = ["ExtractSettings", "FileResult", "process_file"]
