"""The extract stage: documents in parallel (`remud_gen.extract.executors`), each extracted once per content hash
and settings.

Each document's result is cached in `WORK/extract/docs/` under a key of its content hash and the settings, so an
unchanged document is never extracted twice; the stage outputs (documents, chunks, figures) are rebuilt from the
cache and replace the old ones atomically. A bad file is recorded in `failures.jsonl`; the others go on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from remud_gen.extract.executors import extract_all as _extract_all
from remud_gen.extract.inputs import expand
from remud_gen.extract.outputs import cached_vlm, warnings_note, write_outputs
from remud_gen.extract.pageimages import book_name, page_books
from remud_gen.extract.settings import ExtractSettings
from remud_gen.extract.vlm.plan import incomplete, plan, summarise
from remud_gen.hashing import file_digest
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
