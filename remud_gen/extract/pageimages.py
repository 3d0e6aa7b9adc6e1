"""Page images as inputs: a JPG or PNG of a whole book page is a scanned page, not one figure.

ReMUD's own pipeline turns books into page JPEGs (pdf2jpg); users bring the same. An image is a page when it is
portrait, mostly paper with margins, and carries lines of text (`looks_like_page`); a single picture (an ultrasound
frame, a chart) stays one figure. `extract.images: page|figure` forces either. Page images of one folder numbered in
sequence ("book_001.jpg", "book_002.jpg", ...) are the pages of one book (`page_books`), so a figure that runs on
over a page break keeps its id; each is analysed exactly as a scanned PDF page is (`PageImages` gives them to the
PDF path as one-page documents, each made when its page is read).
"""

from __future__ import annotations

import re
import warnings as pywarnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import pymupdf
from PIL import Image

from remud_gen.extract.crops import png_bytes
from remud_gen.extract.imagefile import IMAGE_SUFFIXES, load_rgb

ImagesMode = Literal["auto", "page", "figure"]
_NUMBERED = re.compile(r"^(?P<prefix>.*?)(?P<number>\d+)$")
_ASPECT = (1.15, 1.9)  # height / width of book pages (A4 1.41, 16mo 1.38, letter 1.29, narrow pocket books)
_MIN_SHORT = 360  # pixels: a page scanned at 50 dpi or more
_SIDE = 800  # the page test looks at the page at this height
_MIN_PAPER = 0.35  # share of the page at the paper's grey level
_MIN_TEXT_ROWS = 4  # rows of glyphs that make text lines
_MARGIN_INK = 0.05  # an edge band with less ink than this is a page margin


def looks_like_page(path: Path) -> bool:
    """True for an image of a printed page: portrait, paper-coloured, with lines of text.

    Reads the header first, so a landscape or small image (every ultrasound frame) costs no pixel decode; a JPEG is
    decoded at a reduced size.
    """
    try:
        with pywarnings.catch_warnings(), Image.open(path) as im:
            pywarnings.simplefilter("ignore")
            width, height = im.size
            if not _ASPECT[0] <= height / max(width, 1) <= _ASPECT[1] or min(width, height) < _MIN_SHORT:
                return False
            im.draft("L", (width * _SIDE // height, _SIDE))
            grey = np.asarray(im.convert("L").resize((max(1, width * _SIDE // height), _SIDE)))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return False  # unreadable here: the image path reports it
    return _paper_with_text(grey)


def _paper_with_text(grey: np.ndarray) -> bool:
    hist = np.convolve(np.bincount(grey.ravel(), minlength=256), np.ones(9), mode="same")
    paper = 128 + int(np.argmax(hist[128:]))
    if np.count_nonzero(np.abs(grey.astype(np.int16) - paper) <= 24) < _MIN_PAPER * grey.size:
        return False
    ink = (grey.astype(np.int16) < paper - 70).astype(np.uint8)
    if _clean_margins(ink) < 3:
        return False  # a picture drawn to its edges (a framed diagram), not a page with margins
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    w, h = stats[1:count, 2], stats[1:count, 3]
    # Glyphs (or their strokes) of 7-16 pt text on a page 800 px tall: 3 to 24 px high, not wider than tall x 3.
    glyph = (h >= 3) & (h <= 24) & (w <= 3 * h + 2)
    if np.count_nonzero(glyph) < 40:
        return False
    centres = stats[1:count, 1][glyph] + h[glyph] // 2
    rows = np.bincount(centres // 6, minlength=grey.shape[0] // 6 + 1)
    return int(np.count_nonzero(rows >= 6)) >= _MIN_TEXT_ROWS


def _clean_margins(ink: np.ndarray) -> int:
    """How many of the four edge bands (3% of the side) are almost free of ink: a page has its margins (a scan may
    darken one of them at the spine)."""
    band = max(3, round(0.03 * ink.shape[0])), max(3, round(0.03 * ink.shape[1]))
    edges = (ink[: band[0]], ink[-band[0] :], ink[:, : band[1]], ink[:, -band[1] :])
    return sum(1 for edge in edges if edge.mean() < _MARGIN_INK)


def page_books(paths: Iterable[Path], mode: ImagesMode) -> tuple[list[Path], dict[Path, tuple[Path, ...]]]:
    """Split input files into single files and books of page images.

    Returns the files to extract one by one (PDFs, pictures, each book's first page standing for its book) and, per
    book, its pages in order. Page images of one folder with one name stem and a running number are one book; a
    page image on its own is a one-page book.
    """
    files: list[Path] = []
    series: dict[tuple[Path, str, str], list[tuple[int, Path]]] = {}
    for path in paths:
        is_page = path.suffix.lower() in IMAGE_SUFFIXES and (
            mode == "page" or (mode == "auto" and looks_like_page(path))
        )
        if not is_page:
            files.append(path)
            continue
        m = _NUMBERED.match(path.stem)
        key = (path.parent, m.group("prefix") if m else path.stem, path.suffix.lower()) if m else (path, "", "")
        series.setdefault(key, []).append((int(m.group("number")) if m else 0, path))
    books: dict[Path, tuple[Path, ...]] = {}
    for members in series.values():
        pages = tuple(p for _, p in sorted(members, key=lambda t: (t[0], t[1].name)))
        books[pages[0]] = pages
        files.append(pages[0])
    return files, books


def book_name(pages: Sequence[Path]) -> str:
    """The document name of a book of page images: "book_001-012.jpg", or the file's own name for one page."""
    first, last = pages[0], pages[-1]
    if len(pages) == 1:
        return first.name
    m = _NUMBERED.match(last.stem)
    return f"{first.stem}-{m.group('number') if m else last.stem}{first.suffix}"


def page_dpi(path: Path) -> int:
    """The resolution a page image was scanned at: its own record when that gives a book-sized page (7-12.5 inches
    tall; many files carry a meaningless 72), else the height of a typical book page (10.5 inches) in its pixels.
    Layout distances are measured in points, so a page must be given its real size, whatever the scanner wrote or
    left out."""
    with Image.open(path) as im:
        height = im.height
        recorded = im.info.get("dpi", (0, 0))[1] if isinstance(im.info.get("dpi"), tuple) else 0
    if recorded and 7 <= height / float(recorded) <= 12.5:
        return max(36, min(600, round(float(recorded))))
    return max(36, min(600, round(height / 10.5)))


class PageImages:
    """Page images seen as the pages of one PDF, at `dpi` (a page rendered at `dpi` gives back the image's pixels).

    Only the page asked for last is open: a book of a thousand page JPEGs is never held in memory at once.
    """

    def __init__(self, pages: Sequence[Path], dpi: int, max_pixels: int) -> None:
        self.paths, self.dpi, self.max_pixels = list(pages), dpi, max_pixels
        self.page_count = len(self.paths)
        self._open: tuple[int, pymupdf.Document] | None = None

    def __getitem__(self, index: int) -> pymupdf.Page:
        if self._open is None or self._open[0] != index:
            self.close()
            self._open = (index, self._one_page(self.paths[index]))
        return self._open[1][0]

    def _one_page(self, path: Path) -> pymupdf.Document:
        with Image.open(path) as im:
            plain_jpeg = im.format == "JPEG" and im.mode in ("RGB", "L") and im.width * im.height <= self.max_pixels
            width, height = im.size
        if plain_jpeg:
            data = path.read_bytes()  # its own bytes: no second lossy round
        else:  # CMYK, 16-bit, alpha, palettes: the pixels as PIL decodes them for any image input
            rgb, _, _ = load_rgb(path, self.max_pixels)
            height, width = rgb.shape[:2]
            data = png_bytes(rgb)
        doc = pymupdf.open()
        page = doc.new_page(width=width * 72 / self.dpi, height=height * 72 / self.dpi)
        page.insert_image(page.rect, stream=data)
        return doc

    def close(self) -> None:
        if self._open is not None:
            self._open[1].close()
            self._open = None
