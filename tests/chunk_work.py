"""A work directory as extract leaves it, holding text chunks only: for tests of the stages after extract."""

from __future__ import annotations

from pathlib import Path

from remud_gen.io import write_records
from remud_gen.records import Chunk


def chunks_only(root: Path, texts: list[str]) -> Path:
    """WORK/extract with one English chunk per text (ids doc-c0, doc-c1, ...) and no figures; returns ``root``."""
    chunks = [
        Chunk(chunk_id=f"doc-c{i}", doc="doc.pdf", page_start=1, page_end=1, text=text, language="en")
        for i, text in enumerate(texts)
    ]
    write_records(root / "extract" / "chunks.jsonl", chunks)
    write_records(root / "extract" / "figures.jsonl", [])
    write_records(root / "extract" / "documents.jsonl", [])
    return root
