"""Extract: find every figure, its caption and its context, and the body text, in PDFs and image files.

The per-document core is `process_file` (`remud_gen.extract.core`); the stage around it (worker processes, skipping,
JSONL output, manifest) lives in `remud_gen.extract.stage`. Importing this package is cheap: the PDF and image
libraries load when a document is processed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from remud_gen.extract.result import FileResult
from remud_gen.extract.settings import ExtractSettings

if TYPE_CHECKING:
    from remud_gen.extract.core import process_file


def __getattr__(name: str) -> Any:
    # `process_file` is `core.process_file` itself, imported on first use (it loads PyMuPDF and the OCR stack): one
    # signature, which a wrapper here had to repeat and keep in step.
    if name == "process_file":
        from remud_gen.extract.core import process_file

        return process_file
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ExtractSettings", "FileResult", "process_file"]
