"""The extract stage: documents in parallel processes, each extracted once per content hash and settings.

Each document's result is cached in `WORK/extract/docs/` under a key of its content hash and the settings, so an
unchanged document is never extracted twice; the stage outputs (documents, chunks, figures) are rebuilt from the
cache and replace the old ones atomically. A bad file is recorded in `failures.jsonl`; the others go on.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from remud_gen.errors import RemudError, UserError
from remud_gen.extract.core import process_file
from remud_gen.extract.damage import failed, quiet
from remud_gen.extract.heap import keep_flat, settle
from remud_gen.extract.inputs import expand
from remud_gen.extract.ocr import limit_threads
from remud_gen.extract.outputs import cached_vlm, warnings_note, write_outputs
from remud_gen.extract.pageimages import book_name, page_books
from remud_gen.extract.settings import ExtractSettings
from remud_gen.extract.vlm.job import VlmJob
from remud_gen.extract.vlm.plan import VlmPlan, incomplete, plan, summarise
from remud_gen.hashing import file_digest
from remud_gen.io import atomic_open
from remud_gen.llm.access import ModelAccess
from remud_gen.records import Failure, StageWarning
from remud_gen.report import StageReport
from remud_gen.stage import Progress, Stage, public
from remud_gen.workdir import WorkDir, fingerprint

STAGE = "extract"


def run(
    work: WorkDir,
    inputs: list[Path],
    settings: ExtractSettings,
    *,
    workers: int = 0,
    progress: Progress | None = None,
    model: ModelAccess | None = None,
) -> StageReport:
    """Extract text chunks and figures from ``inputs`` into WORK/extract.

    Args:
        work: the work directory.
        inputs: PDF files, image files, or folders of them.
        settings: extract settings.
        workers: worker processes (0: one per core; 1: in this process).
        progress: a context-manager factory `(description, total) -> advance(n)` for a page-counting bar.
        model: the vision endpoint and its key, used when `settings.detector` is "vlm" (None: the default endpoint).

    Example:
        >>> run(WorkDir(Path("out")), [Path("books/")], ExtractSettings())
    """
    return Extract(work, inputs, settings, workers, model, progress=progress).run()


class Extract(Stage):
    """Reads PDFs and images; writes documents, chunks, figures and failures (and a cache per document)."""

    name = STAGE
    outputs = ("documents.jsonl", "chunks.jsonl", "figures.jsonl", "failures.jsonl")
    counted = "documents"

    def __init__(
        self,
        work: WorkDir,
        inputs: list[Path],
        settings: ExtractSettings,
        workers: int,
        model: ModelAccess | None,
        **options: Any,
    ) -> None:
        super().__init__(work, **options)
        self.inputs, self.settings, self.workers = inputs, settings, workers
        self.vlm = plan(settings, model)

    def plan(self) -> str:
        found = self.found = expand(self.inputs)
        self.failures = [Failure(item=i, stage=STAGE, error="InputError", message=m) for i, m in found.problems]
        self.files, self.books = page_books(found.files, self.settings.images)
        self.digests, self.duplicates = _digests(self.files, self.books, self.failures)
        self.settings_fp = fingerprint(self.settings.model_dump(mode="json"), self.vlm.identity(self.settings))
        names = [str(p) for p in self.digests]  # a cache is per content: the names its records get are part of it
        self.report.items_in = len(found.files) + len(found.problems)
        problems = self.report.problems = [f.message for f in self.failures]
        return fingerprint(sorted(self.digests.values()), self.settings_fp, problems, names, self.duplicates)

    def produce(self) -> dict[str, Any] | None:
        todo, pending = self._pending()
        args = (self.books, self.work.root, self.settings, self.workers, self.progress, self.vlm)
        for path, message, kind in _extract_all(pending, todo, *args):
            self.failures.append(Failure(item=str(path), stage=STAGE, error=kind, message=message))
        warnings = [StageWarning(item=str(dup), stage=STAGE, message=m) for dup, m in self.duplicates]
        named = [(book_name(self.books[p]) if p in self.books else p.name, p, todo[p]) for p in self.files if p in todo]
        written = write_outputs(self.out, named, self.failures, warnings)
        self.vlm.outcomes += written.vlm
        report, documents = self.report, written.documents
        report.items_out, report.failures = len(documents), len(self.failures)
        report.problems = [f.message for f in self.failures]
        report.seconds = self.elapsed()
        pages = sum(d.pages for d in documents)
        chunks, figures = written.counts["chunks"], written.counts["figures"]
        counts = {"documents": len(documents), "pages": pages, "chunks": chunks, "figures": figures}
        report.extra = {"pages": pages, **written.counts, "warnings": len(written.warnings)}
        note = warnings_note(written.warnings, self.out)
        if note:
            report.notes.append(note)
        vlm_counts = summarise(self.vlm, report, len(pending))
        if vlm_counts:
            report.extra["vlm"] = vlm_counts
        failed = self.failures or vlm_counts.get("failed_pages")
        return {
            "status": report.stopped or ("done-with-failures" if failed else "done"),
            "config": {"extract": public(self.settings)},
            "inputs": [str(p) for p in self.found.files],
            "counts": {**counts, "failures": len(self.failures), "warnings": len(written.warnings)},
            **({"vlm": vlm_counts, "usage": report.usage.model_dump()} if vlm_counts else {}),
        }

    def _pending(self) -> tuple[dict[Path, Path], list[Path]]:
        """Each file's cache, and the files to extract (with the VLM detector: checked to answer, once)."""
        cache_dir = self.out / "docs"
        cache_dir.mkdir(exist_ok=True)
        todo, pending = _todo(self.digests, cache_dir, self.settings_fp, self.vlm.active)
        if pending and self.vlm.active:
            self.vlm.check()  # once, here: a dead endpoint is one line, not a warning per page per worker
            if self.vlm.unreachable:
                self.settings_fp = fingerprint(self.settings.model_dump(mode="json"), self.vlm.identity(self.settings))
                todo, pending = _todo(self.digests, cache_dir, self.settings_fp, False)
        return todo, pending


def _start_worker(threads: int) -> None:
    """A worker process's set-up: its share of the OCR threads, and a heap that stays flat across documents."""
    limit_threads(threads)
    keep_flat()


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


def _extract_all(
    pending: list[Path],
    caches: dict[Path, Path],
    books: dict[Path, tuple[Path, ...]],
    root: Path,
    settings: ExtractSettings,
    workers: int,
    progress: Callable[[str, int], Any] | None,
    vlm: VlmPlan,
) -> Iterator[tuple[Path, str, str]]:
    """Extract each pending file into its cache; yield (file, message, error class) for each that fails."""
    if not pending:
        return
    pages = {p: len(books[p]) if p in books else _page_count(p) for p in pending}  # each PDF opened once
    total = sum(pages.values())
    n_workers = min(len(pending), workers or (os.cpu_count() or 1))
    job = vlm.job(n_workers)
    bar = progress("extract", total) if progress else contextlib.nullcontext(lambda n: None)
    with bar as advance:
        if n_workers <= 1:
            keep_flat()
            for path in pending:
                failure = _one(path, caches[path], root, settings, job, books.get(path))
                advance(pages[path])
                if failure:
                    yield path, *failure
            return
        # Every worker loads its own OCR engine: its share of the cores keeps workers x OCR threads <= cores.
        threads = max(1, (os.cpu_count() or 1) // n_workers)
        with ProcessPoolExecutor(
            max_workers=n_workers, mp_context=get_context("spawn"), initializer=_start_worker, initargs=(threads,)
        ) as pool:
            futures: dict[Future[tuple[str, str] | None], Path] = {
                pool.submit(_one, p, caches[p], root, settings, job, books.get(p)): p for p in pending
            }
            for future, path in futures.items():
                try:
                    failure = future.result()
                except Exception as exc:  # a worker died (out of memory, segfault in a library)
                    failure = (f"{path.name}: extraction crashed ({type(exc).__name__}: {exc})", "WorkerCrash")
                advance(pages[path])
                if failure:
                    yield path, *failure


def _one(
    path: Path, cache: Path, root: Path, settings: ExtractSettings, vlm: VlmJob | None, pages: tuple[Path, ...] | None
) -> tuple[str, str] | None:
    """Extract one file (or the book of page images it opens) into its cache; returns (message, error class) on
    failure. Runs in a worker.

    The cache is JSONL: a `{"figure": ...}` line per figure, written as soon as its page is rendered, then a
    `{"chunk": ...}` line per chunk, and last `{"document": ..., "vlm": ...}`; it appears only when complete.
    """
    try:
        with atomic_open(cache) as fh:

            def write(kind: str, record: BaseModel) -> None:
                fh.write(f'{{"{kind}":{record.model_dump_json()}}}\n')

            result = process_file(path, root, settings, vlm, sink=lambda figure: write("figure", figure), pages=pages)
            for figure in result.figures:  # image files: their one figure comes back with the result
                write("figure", figure)
            for chunk in result.chunks:
                write("chunk", chunk)
            outcome = result.vlm.as_dict() if result.vlm is not None else None
            document = result.document.model_dump(mode="json")
            tail = {"document": document, "vlm": outcome, "warnings": result.warnings}
            fh.write(json.dumps(tail, ensure_ascii=False) + "\n")
    except UserError as exc:
        return str(exc), type(exc).__name__
    except RemudError as exc:
        return f"{path.name}: {exc}", type(exc).__name__
    except Exception as exc:  # a library failing on a strange file must not stop the batch
        return f"{path.name}: {failed(exc)}", "ExtractionError"
    finally:
        settle()
    return None


def _page_count(path: Path) -> int:
    if path.suffix.lower() != ".pdf":
        return 1
    try:
        import pymupdf

        quiet()
        with pymupdf.open(path) as doc:
            return int(doc.page_count)
    except Exception:
        return 1
