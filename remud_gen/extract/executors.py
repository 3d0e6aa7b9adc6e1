"""Where extract's documents run: worker processes on this machine (the default) or Ray tasks on a cluster.

Both executors take the files still to extract and yield a (file, message, error class) for each that fails; each
document that succeeds leaves its cache (`WORK/extract/docs/...jsonl`) and its crops under WORK. Locally a worker
writes them itself; on Ray the driver writes what the task returns (`remud_gen.extract.ray_tasks`).
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
from remud_gen.extract.ocr import limit_threads
from remud_gen.extract.settings import ExtractSettings
from remud_gen.extract.vlm.job import VlmJob
from remud_gen.extract.vlm.plan import VlmPlan
from remud_gen.io import atomic_open


def extract_all(
    pending: list[Path],
    caches: dict[Path, Path],
    books: dict[Path, tuple[Path, ...]],
    root: Path,
    settings: ExtractSettings,
    workers: int,
    progress: Callable[[str, int], Any] | None,
    vlm: VlmPlan,
) -> Iterator[tuple[Path, str, str]]:
    """Extract each pending file into its cache with `settings.executor`; yield (file, message, error class) for
    each that fails.

    Args:
        pending: the files to extract.
        caches: each file's cache path.
        books: the page images of each file that is a book of page images.
        root: WORK.
        settings: extract settings.
        workers: worker processes (0: one per core; 1: in this process); on a Ray instance this starts, its CPUs.
        progress: a context-manager factory `(description, total) -> advance(n)` counting pages.
        vlm: the vision-endpoint plan.
    """
    if not pending:
        return
    pages = {p: len(books[p]) if p in books else _page_count(p) for p in pending}  # each PDF opened once
    total = sum(pages.values())
    bar = progress(_description(settings, len(pending)), total) if progress else contextlib.nullcontext(lambda n: None)
    with bar as advance:
        if settings.executor == "ray":
            from remud_gen.extract.ray_tasks import run_on_ray

            n_workers = workers or (os.cpu_count() or 1)
            done = run_on_ray(pending, caches, books, root, settings, n_workers, vlm)
        else:
            done = _run_local(pending, caches, books, root, settings, workers, vlm)
        for path, failure in done:
            advance(pages[path])
            if failure:
                yield path, *failure


def _description(settings: ExtractSettings, documents: int) -> str:
    where = " on ray" if settings.executor == "ray" else ""
    return f"extract {documents} document(s){where}"


def _run_local(
    pending: list[Path],
    caches: dict[Path, Path],
    books: dict[Path, tuple[Path, ...]],
    root: Path,
    settings: ExtractSettings,
    workers: int,
    vlm: VlmPlan,
) -> Iterator[tuple[Path, tuple[str, str] | None]]:
    """Worker processes on this machine, each writing its documents' caches and crops itself."""
    n_workers = min(len(pending), workers or (os.cpu_count() or 1))
    job = vlm.job(n_workers)
    if n_workers <= 1:
        keep_flat()
        for path in pending:
            yield path, extract_one(path, caches[path], root, settings, job, books.get(path))
        return
    # Every worker loads its own OCR engine: its share of the cores keeps workers x OCR threads <= cores.
    threads = max(1, (os.cpu_count() or 1) // n_workers)
    with ProcessPoolExecutor(
        max_workers=n_workers, mp_context=get_context("spawn"), initializer=_start_worker, initargs=(threads,)
    ) as pool:
        futures: dict[Future[tuple[str, str] | None], Path] = {
            pool.submit(extract_one, p, caches[p], root, settings, job, books.get(p)): p for p in pending
        }
        for future, path in futures.items():
            try:
                failure = future.result()
            except Exception as exc:  # a worker died (out of memory, segfault in a library)
                failure = (f"{path.name}: extraction crashed ({type(exc).__name__}: {exc})", "WorkerCrash")
            yield path, failure


def _start_worker(threads: int) -> None:
    """A worker process's set-up: its share of the OCR threads, and a heap that stays flat across documents."""
    limit_threads(threads)
    keep_flat()


def extract_one(
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
