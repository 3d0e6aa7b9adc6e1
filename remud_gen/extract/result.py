"""What extracting one input file produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from remud_gen.records import Chunk, Document, Figure

if TYPE_CHECKING:
    from remud_gen.extract.vlm.detect import VlmOutcome


@dataclass
class FileResult:
    """One file's records; `warnings` are one-line notes about pages or parts that could not be used."""

    document: Document
    figures: list[Figure] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    vlm: VlmOutcome | None = None  # what the VLM detector did (detector: vlm, documents with scanned pages)
