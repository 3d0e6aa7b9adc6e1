"""The extract stage: documents in parallel (`remud_gen.extract.executors`), each extracted once per content hash
and settings.

Each document's result is cached in `WORK/extract/docs/` under a key of its content hash and the settings, so an
unchanged document is never extracted twice; the stage outputs (documents, chunks, figures) are rebuilt from the
cache and replace the old ones atomically. A bad file is recorded in `failures.jsonl`; the others go on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from remud_gen.extract.executors import extract_all as _extract_all
from remud_gen.extract.inputs import expand
from remud_gen.extract.outputs import cached_vlm, warnings_note, write_outputs
from remud_gen.extract.pageimages import book_name, page_books
from remud_gen.extract.settings import ExtractSettings
from remud_gen.extract.vlm.plan import incomplete, plan, summarise
from remud_gen.llm.settings import EndpointSettings
from remud_gen.records import Failure, StageWarning
from remud_gen.report import StageReport
from remud_gen.workdir import WorkDir, file_digest, fingerprint

STAGE = "extract"


def run(
    work: WorkDir,
    inputs: list[Path],
    settings: ExtractSettings,
    *,
    workers: int = 0,
    progress: Callable[[str, int], Any] | None = None,
    endpoint: EndpointSettings | None = None,
    api_key: str = "",
) -> StageReport:
    """Extract text chunks and figures from ``inputs`` into WORK/extract.

    Args:
        work: the work directory.
        inputs: PDF files, image files, or folders of them.
        settings: extract settings.
        workers: worker processes (0: one per core; 1: in this process).
        progress: a context-manager factory `(description, total) -> advance(n)` for a page-counting bar.
        endpoint: the vision endpoint, used when `settings.detector` is "vlm" (None: the default endpoint).
        api_key: its key.

    Example:
        >>> run(WorkDir(Path("out")), [Path("books/")], ExtractSettings())
    """
    started = time.monotonic()
    found = expand(inputs)
    out = work.stage_dir(STAGE)
    cache_dir = out / "docs"
    cache_dir.mkdir(exist_ok=True)
    failures = [Failure(item=item, stage=STAGE, error="InputError", message=msg) for item, msg in found.problems]
    files, books = page_books(found.files, settings.images)
    digests, duplicates = _digests(files, books, failures)
    vlm = plan(settings, endpoint, api_key)
    settings_fp = fingerprint(settings.model_dump(mode="json"), vlm.identity(settings))
    outputs = [out / n for n in ("documents.jsonl", "chunks.jsonl", "figures.jsonl", "failures.jsonl")]
    names = [str(p) for p in digests]  # a cache is per content: the names its records get are part of the output
    fp = fingerprint(sorted(digests.values()), settings_fp, [f.message for f in failures], names, duplicates)
    report = StageReport(stage=STAGE, items_in=len(found.files) + len(found.problems))
    if work.is_done(STAGE, fp, outputs):
        entry = work.manifest["stages"][STAGE]
        report.skipped = True
        report.items_out, report.failures = entry["counts"]["documents"], entry["counts"]["failures"]
        report.problems = [f.message for f in failures]
        return report

    todo, pending = _todo(digests, cache_dir, settings_fp, vlm.active)
    if pending and vlm.active:
        vlm.check()  # once, here: a dead endpoint is one line, not a warning per page per worker
        if vlm.unreachable:
            settings_fp = fingerprint(settings.model_dump(mode="json"), vlm.identity(settings))
            todo, pending = _todo(digests, cache_dir, settings_fp, False)
    for path, message, kind in _extract_all(pending, todo, books, work.root, settings, workers, progress, vlm):
        failures.append(Failure(item=str(path), stage=STAGE, error=kind, message=message))

    warnings = [StageWarning(item=str(dup), stage=STAGE, message=m) for dup, m in duplicates]
    named = [(book_name(books[p]) if p in books else p.name, p, todo[p]) for p in files if p in todo]
    written = write_outputs(out, named, failures, warnings)
    documents, counts = written.documents, written.counts
    vlm.outcomes += written.vlm
    report.items_out, report.failures = len(documents), len(failures)
    report.problems = [f.message for f in failures]
    report.seconds = time.monotonic() - started
    pages = sum(d.pages for d in documents)
    report.extra = {"pages": pages, **counts, "warnings": len(written.warnings)}
    note = warnings_note(written.warnings, out)
    if note:
        report.notes.append(note)
    vlm_counts = summarise(vlm, report, len(pending))
    if vlm_counts:
        report.extra["vlm"] = vlm_counts
    work.record(
        STAGE,
        status=report.stopped
        or ("done" if not failures and not vlm_counts.get("failed_pages") else "done-with-failures"),
        fingerprint=fp,
        config={"extract": _public(settings)},
        inputs=[str(p) for p in found.files],
        counts={
            "documents": len(documents),
            "pages": pages,
            "chunks": counts["chunks"],
            "figures": counts["figures"],
            "failures": len(failures),
            "warnings": len(written.warnings),
        },
        timings={"seconds": round(report.seconds, 3)},
        **({"vlm": vlm_counts, "usage": report.usage.model_dump()} if vlm_counts else {}),
    )
    return report


def _digests(
    files: list[Path], books: dict[Path, tuple[Path, ...]], failures: list[Failure]
) -> tuple[dict[Path, str], list[tuple[Path, str]]]:
    """Each readable file's content hash (a book of page images: of all its pages), one file per content: a file met
    again under another name is extracted once, under the name met first, and each other name gets a warning (one
    book must not be paid for twice)."""
    digests: dict[Path, str] = {}
    first: dict[str, Path] = {}
    duplicates: list[tuple[Path, str]] = []
    for path in files:
        try:
            digest = fingerprint(*(file_digest(p) for p in books[path])) if path in books else file_digest(path)
        except OSError as exc:
            message = f"{path.name}: cannot be read ({exc.strerror or exc}); check its permissions"
            failures.append(Failure(item=str(path), stage=STAGE, error="InputError", message=message))
            continue
        if digest in first:
            name = first[digest].name
            duplicates.append((path, f"{path.name}: same content as {name}; extracted once, as {name}"))
            continue
        first[digest] = path
        digests[path] = digest
    return digests, duplicates


def _todo(
    digests: dict[Path, str], cache_dir: Path, settings_fp: str, vlm: bool
) -> tuple[dict[Path, Path], list[Path]]:
    """Each file's cache, and the files to extract: one per missing cache, or per cache whose VLM pass left pages
    without boxes (same content once: two names of one file must not share a VLM journal at the same time)."""
    todo = {p: cache_dir / f"{d[:16]}-{settings_fp[:8]}.jsonl" for p, d in digests.items()}
    pending: dict[Path, Path] = {}
    for path, cache in todo.items():
        if cache in pending.values():
            continue
        if not cache.exists() or (vlm and incomplete(cached_vlm(cache))):
            pending[path] = cache
    return todo, list(pending)


def _public(settings: ExtractSettings) -> dict[str, Any]:
    data = settings.model_dump(mode="json")
    if data.get("password"):
        data["password"] = "***"
    return data
