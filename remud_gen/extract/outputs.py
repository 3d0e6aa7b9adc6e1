"""Extract's outputs, rebuilt from the per-document caches: documents, chunks, figures, failures and warnings.

A cache (`WORK/extract/docs/<sha>-<settings>.jsonl`) holds a `{"figure": ...}` line per figure, then a
`{"chunk": ...}` line per chunk, then `{"document": ..., "vlm": ..., "warnings": [...]}`. It is keyed by content, so
the names in it are those of the file it was first made from: they are set to the current file's on the way out.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from remud_gen.io import atomic_open, write_records
from remud_gen.records import Chunk, Document, Failure, Figure, StageWarning

STAGE = "extract"


@dataclass
class Outputs:
    """What `write_outputs` wrote."""

    documents: list[Document] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {"figures": 0, "chunks": 0, "ultrasound": 0})
    warnings: list[StageWarning] = field(default_factory=list)
    vlm: list[dict[str, Any]] = field(default_factory=list)  # each document's VLM outcome, for the summary


def write_outputs(
    out: Path, caches: list[tuple[str, Path, Path]], failures: list[Failure], warnings: list[StageWarning]
) -> Outputs:
    """Rebuild documents, chunks, figures, failures and warnings from the caches of ``(document name, file, cache)``
    triples, one record at a time (a corpus of long books is never held in memory)."""
    done = Outputs(warnings=list(warnings))
    with atomic_open(out / "chunks.jsonl") as chunks, atomic_open(out / "figures.jsonl") as figures:
        for name, path, cache in caches:
            if not cache.exists():
                continue
            for kind, record in cache_records(cache):
                if kind == "figure":
                    figure = Figure.model_validate({**record, "doc": name})
                    figures.write(figure.model_dump_json() + "\n")
                    done.counts["figures"] += 1
                    done.counts["ultrasound"] += figure.is_ultrasound
                elif kind == "chunk":
                    chunks.write(Chunk.model_validate({**record, "doc": name}).model_dump_json() + "\n")
                    done.counts["chunks"] += 1
                else:
                    document = {**record["document"], "doc": name, "path": str(path)}
                    done.documents.append(Document.model_validate(document))
                    if record.get("vlm"):
                        done.vlm.append({"doc": name, **record["vlm"]})
                    done.warnings += [
                        StageWarning(item=str(path), stage=STAGE, message=f"{name}: {w}")
                        for w in record.get("warnings") or []
                    ]
    write_records(out / "documents.jsonl", done.documents)
    write_records(out / "failures.jsonl", failures)
    write_records(out / "warnings.jsonl", done.warnings)
    return done


def cache_records(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind, record) for each line of a cache: kind "figure" or "chunk" with the record, then "document" with the
    whole last line (document, vlm outcome and warnings)."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            data = json.loads(line)
            if "document" in data:
                yield "document", data
            else:
                ((kind, record),) = data.items()
                yield kind, record


def cached_vlm(path: Path) -> dict[str, Any] | None:
    """The VLM outcome stored with a cached document (None when there is none or the cache is unreadable)."""
    try:
        last = None
        for kind, record in cache_records(path):
            if kind == "document":
                last = record
        return last.get("vlm") if last else None
    except (OSError, ValueError, KeyError):
        return None


# What a warning is about, in the summary's words (first match wins).
_KINDS = (
    ("damaged PDF", "damaged PDFs read as far as possible"),
    ("could not be read, skipped", "unreadable pages skipped"),
    ("could not be drawn", "pages whose figures could not be drawn"),
    ("nothing to use", "files with no text and no figure"),
    ("same content as", "duplicate files used once"),
    ("sidecar", "caption files ignored"),
    ("skipped:", "inputs skipped"),
)


def warnings_note(warnings: list[StageWarning], out: Path) -> str | None:
    """One summary line: how many warnings about how many files, by kind, and where they all are."""
    if not warnings:
        return None
    kinds: Counter[str] = Counter()
    for w in warnings:
        kinds[next((label for key, label in _KINDS if key in w.message), "other warnings")] += 1
    by_kind = ", ".join(f"{n} {label}" for label, n in kinds.most_common())
    files = len({w.item for w in warnings})
    where = out / "warnings.jsonl"
    return f"{len(warnings)} warning(s) about {files} file(s): {by_kind}; each one is in {where}"
