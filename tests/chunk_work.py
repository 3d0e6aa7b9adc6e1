"""Work directories in tests: one as extract leaves it (text chunks only), and the JSONL files stages write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def jsonl(path: Path) -> list[dict[str, Any]]:
    """The records of a JSONL file (blank lines skipped)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
