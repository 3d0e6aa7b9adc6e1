"""First pass over a PDF: each page reduced to blocks and graphics, scanned pages OCR'd, no pixmap kept.

A page is "scanned" when its text layer is empty or garbage and images cover most of it. Such a page is rendered
once at the settings dpi (a page built from dozens of strips is then simply one picture) and handed to
`remud_gen.extract.scanned.analyse_page`; its OCR lines and figure boxes come back in pixels and are mapped to
points here, so everything after this module sees born-digital and scanned pages the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pymupdf

from remud_gen.errors import InputError
from remud_gen.extract.crops import render, to_array
from remud_gen.extract.graphics import page_rasters, page_vectors
from remud_gen.extract.model import BBox, Block, Graphic, Line, area, union
from remud_gen.extract.settings import ExtractSettings
from remud_gen.extract.textlayer import group_lines, page_lines

_SPACE = re.compile(r"\s")  # the same characters as str.isspace
# Replacement characters, private-use code points and control characters that are not whitespace.
_GARBAGE = re.compile(r"[\ufffd\ue000-\uf8ff\x00-\x08\x0e-\x1b]")


@dataclass
class PageData:
    """What the rest of extract needs from one page."""

    number: int  # 1-based
    size: tuple[float, float]
    blocks: list[Block] = field(default_factory=list)
    rasters: list[Graphic] = field(default_factory=list)
    vectors: list[Graphic] = field(default_factory=list)
    scanned: bool = False
    detected: list[BBox] = field(default_factory=list)
    detected_sources: list[str] = field(default_factory=list)  # per detected box; empty: all image analysis


def usable_text(lines: list[Line]) -> bool:
    """True when the text layer has enough real characters to be read instead of OCR'd."""
    text = "".join(ln.text for ln in lines)
    chars = len(text) - len(_SPACE.findall(text))
    if chars < 20:
        return False
    return len(_GARBAGE.findall(text)) / chars < 0.2


def image_cover(rasters: list[Graphic], page_box: BBox) -> float:
    """Share of the page covered by rasters (by their union box when they tile, else by summed area)."""
    if not rasters:
        return 0.0
    total = min(sum(area(g.bbox) for g in rasters), area(union([g.bbox for g in rasters])))
    return total / max(area(page_box), 1.0)


# A scanned page is analysed at most OCR_MAX_SIDE pixels high or wide, and its render is held while it is: a page
# larger than A2 at 200 dpi is rendered at a lower dpi (a 200-inch page at 60 million pixels kept 180 MB through OCR).
ANALYSIS_MAX_PIXELS = 16_000_000


def read_page(page: pymupdf.Page, settings: ExtractSettings, warnings: list[str], number: int = 0) -> PageData:
    """Reduce one page to a PageData (OCR and region detection on scanned pages); `number` (1-based) is the page's
    place in the document when the page is not part of one (a page image), else its own number is used."""
    pr = page.rect
    data = PageData(number=number or int(page.number or 0) + 1, size=(float(pr.width), float(pr.height)))
    lines = page_lines(page)
    data.rasters = page_rasters(page)
    text_ok = usable_text(lines)
    cover = image_cover(data.rasters, (pr.x0, pr.y0, pr.x1, pr.y1))
    scanned = settings.ocr == "on" or (cover >= 0.5 and (not text_ok or cover >= settings.background_fraction))
    if scanned:
        need_ocr = settings.ocr == "on" or (settings.ocr == "auto" and not text_ok)
        result = _analyse(page, settings, need_ocr, warnings, [] if need_ocr else lines)
        if result is not None:
            ocr_lines, data.detected, data.detected_sources = result
            if need_ocr:
                lines = ocr_lines
            data.scanned = True
    data.blocks = (
        group_lines(lines, data.number, data.detected, ocr=True) if data.scanned else group_lines(lines, data.number)
    )
    if not data.scanned:
        data.vectors = page_vectors(page, data.blocks)
    return data


def _analyse(
    page: pymupdf.Page, settings: ExtractSettings, ocr: bool, warnings: list[str], known: list[Line]
) -> tuple[list[Line], list[BBox], list[str]] | None:
    """OCR (or take the `known` text-layer lines of) a scanned page and find its figures, all in points."""
    try:
        from remud_gen.extract.scanned import analyse_page
    except ImportError as exc:  # the scanned path is optional at import time; say so once per page
        warnings.append(f"page {page.number + 1}: scanned page skipped, scanned-page support unavailable ({exc})")
        return None
    pix = render(page, None, settings.dpi, min(settings.max_render_pixels, ANALYSIS_MAX_PIXELS))
    scale = pix.width / page.rect.width
    rgb = to_array(pix)
    del pix
    from remud_gen.extract.ocr import OcrLine

    text = [
        OcrLine(ln.text, (ln.bbox[0] * scale, ln.bbox[1] * scale, ln.bbox[2] * scale, ln.bbox[3] * scale), 1.0)
        for ln in known
    ]
    try:
        result: Any = analyse_page(rgb, ocr=ocr, text=text)
    except InputError as exc:  # OCR engine missing: still find the figures, say once why there is no text
        if not ocr:
            raise
        if not any("OCR unavailable" in w for w in warnings):
            warnings.append(f"OCR unavailable, scanned pages have no text ({exc})")
        result = analyse_page(rgb, ocr=False, text=text)
    del rgb
    lines = [
        Line(
            text=str(ln.text).strip(),
            bbox=_to_points(ln.box, scale),
            size=round((ln.box[3] - ln.box[1]) / scale * 0.85, 1),
        )
        for ln in result.lines
        if str(ln.text).strip()
    ]
    boxes = [_to_points(b, scale) for b in result.figures]
    return lines, boxes, list(result.sources)


def _to_pixels(box: BBox, scale: float) -> BBox:
    return (box[0] * scale, box[1] * scale, box[2] * scale, box[3] * scale)


def _to_points(box: Any, scale: float) -> BBox:
    x0, y0, x1, y1 = (float(v) for v in box)
    return (x0 / scale, y0 / scale, x1 / scale, y1 / scale)
