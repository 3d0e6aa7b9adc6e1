"""Extract one PDF: open it safely, read every page (pass 1), analyse, render figures page by page (pass 2).

Memory stays flat on long books: pass 1 keeps boxes per page and moves the text to disk (`PageStore`), figure
records go to the caller's sink as they are rendered, pass 2 renders one figure at a time
and drops the pixmap, and MuPDF's object store is emptied every few pages. Not after every page: the store also
caches fonts and colour-conversion links, and reloading a page's fonts or rebuilding a CMYK-to-RGB link costs
10-40 ms, more than rendering the figures; in pass 2 it is emptied once the images drawn since the last time
could fill `STORE_BUDGET` decoded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pymupdf

from remud_gen.errors import InputError
from remud_gen.extract.boilerplate import content_paragraphs, licence_statement
from remud_gen.extract.chunks import make_chunks
from remud_gen.extract.damage import FIX, damage_note, drain, quiet, unreadable
from remud_gen.extract.document import analyse
from remud_gen.extract.heap import trim
from remud_gen.extract.pageimages import PageImages, book_name, page_dpi
from remud_gen.extract.pages import PageData, read_page
from remud_gen.extract.pagestore import PageStore
from remud_gen.extract.render import render_page_figures
from remud_gen.extract.result import FileResult
from remud_gen.extract.settings import ExtractSettings
from remud_gen.records import Document, Figure

if TYPE_CHECKING:
    from remud_gen.extract.vlm.detect import VlmOutcome
    from remud_gen.extract.vlm.job import VlmJob

SHRINK_EVERY = 25
REOPEN_EVERY = 100  # pages
STORE_BUDGET = 32 << 20  # bytes: decoded images (at 4 bytes a pixel) MuPDF may cache between two emptyings


def open_pdf(path: Path, password: str | None) -> pymupdf.Document:
    """Open a PDF or raise InputError with one line saying what is wrong and how to fix it."""
    name = path.name
    try:
        doc = pymupdf.open(path, filetype="pdf")
    except Exception as exc:  # MuPDF raises several types for unreadable files; all mean the same to the user
        raise InputError(_not_readable(path, exc)) from None
    if not doc.is_pdf:
        doc.close()
        raise InputError(f"{name}: not a PDF file; pass PDFs or image files")
    if doc.needs_pass:
        if not password:
            doc.close()
            raise InputError(f"{name}: the PDF is encrypted; use --password to give its password")
        if not doc.authenticate(password):
            doc.close()
            raise InputError(f"{name}: wrong password for this encrypted PDF; use --password with the right one")
    if doc.page_count == 0:
        doc.close()
        said = drain(keep=True)
        if said:  # MuPDF repaired the file and found no page: that is damage, not an empty document
            raise InputError(
                f"{name}: not a readable PDF: damaged, no pages found ({unreadable(Exception(), said)}){FIX}"
            )
        raise InputError(f"{name}: the PDF has no pages")
    return doc


def _not_readable(path: Path, exc: Exception) -> str:
    try:
        with path.open("rb") as fh:
            pdf_like = b"%PDF-" in fh.read(1024)
    except OSError:
        pdf_like = True
    if not pdf_like:
        return f"{path.name}: not a readable PDF: no %PDF- header at its start; is it another kind of file?"
    return f"{path.name}: not a readable PDF: damaged beyond repair ({unreadable(exc, drain(keep=True))}){FIX}"


class _Book:
    """The open PDF of `extract_pdf`, tidied every `SHRINK_EVERY` pages and reopened every `REOPEN_EVERY`.

    MuPDF keeps every object it has parsed (page trees, resources, font programs) until the document is closed, and
    glibc keeps freed memory unless asked to return it: over a 1,000-page atlas the two held ~25 MB that reopening
    and `malloc_trim` give back. Pages are only ever used one at a time, so a reopen never strands a live page.
    """

    def __init__(self, path: Path, password: str | None) -> None:
        self.path, self.password = path, password
        self.doc = open_pdf(path, password)
        self.tidied = 0

    def tidy(self) -> None:
        """Empty MuPDF's store; when due, reopen `doc` and hand freed memory back."""
        pymupdf.TOOLS.store_shrink(100)
        self.tidied += 1
        if self.tidied * SHRINK_EVERY >= REOPEN_EVERY:
            self.doc.close()
            self.doc = open_pdf(self.path, self.password)
            self.tidied = 0
            trim()

    def __enter__(self) -> _Book:
        return self

    def __exit__(self, *exc: object) -> None:
        self.doc.close()


class _ImageBook:
    """Page images in the place of a PDF's pages (see `remud_gen.extract.pageimages`)."""

    def __init__(self, pages: Sequence[Path], settings: ExtractSettings) -> None:
        self.dpi = page_dpi(pages[0])
        self.doc = PageImages(pages, self.dpi, settings.max_image_pixels)

    def tidy(self) -> None:
        pymupdf.TOOLS.store_shrink(100)

    def __enter__(self) -> _ImageBook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.doc.close()


def extract_pdf(
    path: Path,
    work: Path,
    settings: ExtractSettings,
    sha: str,
    vlm: VlmJob | None = None,
    sink: Callable[[Figure], None] | None = None,
    page_images: Sequence[Path] | None = None,
) -> FileResult:
    """Document, figures and chunks of one PDF (see `remud_gen.extract.process_file`); with a ``sink``, each figure
    goes to it as soon as its page is rendered instead of into the result, so a long book's records are not held.

    With ``page_images``, the document is those page images, in order, each read as a scanned page; figure boxes
    are then in the images' pixels, as for any image input.
    """
    prefix = sha[:12]
    warnings: list[str] = []
    outcome = None
    name = book_name(page_images) if page_images else path.name
    quiet()
    opened = _ImageBook(page_images, settings) if page_images else _Book(path, settings.password)
    if isinstance(opened, _ImageBook):  # pages are read and cropped at their own resolution: no resampling
        settings = settings.model_copy(update={"dpi": opened.dpi})
    with opened as book, PageStore() as store:
        page_count = book.doc.page_count
        broken: Exception | None = None
        for i in range(page_count):
            try:
                store.add(read_page(book.doc[i], settings, warnings, i + 1))
            except Exception as exc:  # a broken page must not lose the rest of the book
                broken = broken or exc
                warnings.append(f"page {i + 1}: could not be read, skipped ({unreadable(exc, [])})")
                store.add(PageData(number=i + 1, size=(612.0, 792.0)))
            if i % SHRINK_EVERY == SHRINK_EVERY - 1:
                book.tidy()
        pages = store.pages
        blank = (not store.has_text(p.number) and not p.rasters and not p.detected for p in pages)
        if page_count and broken is not None and all(blank):
            said = unreadable(broken, drain())
            what = "not readable page images" if page_images else "not a readable PDF"
            raise InputError(f"{name}: {what}: damaged, no page could be read ({said}){FIX}")
        if settings.detector == "vlm":
            outcome = _vlm_pass(book.doc, store, vlm, settings, work, sha, warnings)
        result = analyse(store, settings)
        by_page: dict[int, list] = {}
        for d in result.drafts:
            by_page.setdefault(d.page, []).append(d)
        result.drafts = []
        # Pass 2 needs only the rasters of pages with figures.
        scanned = sum(1 for p in pages if p.scanned)
        rasters = {p.number: p.rasters for p in pages if p.number in by_page}
        del pages
        store.close()
        figures: list[Figure] = []
        keep = sink or figures.append
        if page_images:
            keep = _in_pixels(keep, settings.dpi)
        count = cached = rendered = 0
        for n in sorted(by_page):
            drafts = by_page.pop(n)
            try:
                page_figures = render_page_figures(
                    book.doc[n - 1],
                    drafts,
                    work=work,
                    doc=name,
                    prefix=prefix,
                    language=result.language,
                    settings=settings,
                    rasters=[g.bbox for g in rasters[n]],
                )
            except Exception as exc:
                warnings.append(f"page {n}: figures could not be drawn, skipped ({unreadable(exc, [])})")
                page_figures = []
            for figure in page_figures:
                keep(figure)
            count += len(page_figures)
            cached += sum(4 * g.pixels[0] * g.pixels[1] for g in rasters.pop(n))
            rendered += 1
            if cached > STORE_BUDGET or rendered >= SHRINK_EVERY:
                book.tidy()
                cached = rendered = 0
    chunks = make_chunks(
        list(content_paragraphs(result.paras)) if settings.drop_apparatus else result.paras,
        doc=name,
        prefix=prefix,
        language=result.language,
        size=settings.chunk_chars,
        overlap=settings.chunk_overlap,
    )
    note = damage_note(drain())
    if note:
        warnings.insert(0, note)
    if not chunks and not count:
        warnings.append(f"nothing to use: no body text and no figure found on its {page_count} page(s)")
    document = Document(
        doc=name,
        path=str(path.resolve()),
        sha256=sha,
        kind="page-images" if page_images else "pdf",
        pages=page_count,
        scanned_pages=scanned,
        language=result.language,
        title=result.title,
        figures=count,
        chunks=len(chunks),
        licence=licence_statement([*result.paras, *result.margins]),
    )
    return FileResult(document=document, figures=figures, chunks=chunks, warnings=warnings, vlm=outcome)


def _in_pixels(sink: Callable[[Figure], None], dpi: int) -> Callable[[Figure], None]:
    """A sink that hands on figures of page images with boxes in the images' pixels instead of points."""
    scale = dpi / 72
    target = sink

    def convert(figure: Figure) -> None:
        x0, y0, x1, y1 = figure.bbox
        box = (round(x0 * scale, 1), round(y0 * scale, 1), round(x1 * scale, 1), round(y1 * scale, 1))
        size = (round(figure.page_size[0] * scale), round(figure.page_size[1] * scale))
        target(figure.model_copy(update={"bbox": box, "page_size": size}))

    return convert


def _vlm_pass(
    doc: pymupdf.Document | PageImages,
    store: PageStore,
    vlm: VlmJob | None,
    settings: ExtractSettings,
    work: Path,
    sha: str,
    warnings: list[str],
) -> VlmOutcome | None:
    """The seam to the VLM detector: scanned pages' analysis boxes in, cross-checked boxes out (in place)."""
    if not any(p.scanned for p in store.pages):
        return None
    if vlm is None:  # called as a library without an endpoint: say so, keep the analysis boxes
        warnings.append("detector 'vlm' has no endpoint here; scanned pages used image analysis")
        return None
    from remud_gen.extract.vlm.detect import detect_pages

    return detect_pages(doc, store, vlm, settings, work, sha[:16], warnings)
