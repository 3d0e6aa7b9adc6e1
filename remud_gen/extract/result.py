"""What extracting one input file produces."""

from __future__ import annotations

from dataclasses import dataclass, field

from remud_gen.records import Chunk, Document, Figure


@dataclass
class FileResult:
    """One file's records; `warnings` are one-line notes about pages or parts that could not be used."""

    document: Document
    figures: list[Figure] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
