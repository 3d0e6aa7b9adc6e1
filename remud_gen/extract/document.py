"""Whole-document analysis between the two passes: margins, logos, figure drafts, sections, context, language.

Input: the `PageStore` of pass 1 (text blocks on disk, boxes and counts in memory, no pixels). Output: figure drafts
ready to render, body paragraphs for chunking, the document title and language.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from dataclasses import dataclass, field

from remud_gen.extract.assign import assign_page
from remud_gen.extract.captions import cited_figures
from remud_gen.extract.chunks import Para
from remud_gen.extract.continuation import continue_figures
from remud_gen.extract.graphics import figure_regions, figure_sized
from remud_gen.extract.grouping import Draft
from remud_gen.extract.headings import assign_sections, document_title
from remud_gen.extract.layout import font_sizes, margin_need, mark_page_margins, most_common_size, reading_order
from remud_gen.extract.model import BBox, Block, area
from remud_gen.extract.pages import PageData
from remud_gen.extract.pagestore import PageStore
from remud_gen.extract.settings import ExtractSettings
from remud_gen.records import Language

MAX_CONTEXT = 5
_TEXT_ROLES = ("body", "heading", "atlas")  # the blocks sections, context and chunks are made of


@dataclass
class Analysis:
    drafts: list[Draft]
    paras: list[Para]
    title: str | None
    language: Language
    margins: list[Para] = field(default_factory=list)  # running heads and footers, where journals print licences


def repeated_digests(pages: list[PageData], settings: ExtractSettings) -> set[str]:
    """Digests of rasters drawn at the same place on many pages and small or in a margin: logos, running heads.

    Repetition alone is not enough: an atlas reuses a reference image (a normal kidney beside each abnormal one) in
    the body of many pages, at varying places, and those are figures.
    """
    counts: Counter[tuple[str, tuple[int, int, int, int]]] = Counter()
    for p in pages:
        counts.update({(g.digest, _place(g.bbox)) for g in p.rasters if g.digest and _logo_like(g.bbox, p.size)})
    need = max(2, min(settings.repeated_image_pages, math.ceil(settings.repeated_image_fraction * len(pages))))
    return {d for (d, _), n in counts.items() if n >= need}


def _place(b: BBox) -> tuple[int, int, int, int]:
    """Where a raster sits, to within ~12 pt (page furniture moves a little between recto and verso)."""
    return (round(b[0] / 12), round(b[1] / 12), round((b[2] - b[0]) / 12), round((b[3] - b[1]) / 12))


def _logo_like(b: BBox, size: tuple[float, float]) -> bool:
    """Small (under 4% of the page), or inside the top or bottom 12% where running heads and footers live."""
    width, height = size
    return area(b) < 0.04 * width * height or b[3] <= 0.12 * height or b[1] >= 0.88 * height


def repeated_boxes(pages: list[PageData], settings: ExtractSettings) -> set[tuple[int, int, int, int]]:
    """Small detected regions at the same place on many scanned pages: logos and running-head ornaments."""
    counts: Counter[tuple[int, int, int, int]] = Counter()
    for p in pages:
        small = {_grid(b) for b in p.detected if area(b) < 0.05 * p.size[0] * p.size[1]}
        counts.update(small)
    need = max(2, min(settings.repeated_image_pages, math.ceil(settings.repeated_image_fraction * len(pages))))
    return {k for k, n in counts.items() if n >= need}


def _grid(b: BBox) -> tuple[int, int, int, int]:
    return (round(b[0] / 4), round(b[1] / 4), round(b[2] / 4), round(b[3] / 4))


def analyse(store: PageStore, settings: ExtractSettings) -> Analysis:
    """Run every cross-page decision; see the module docstring.

    Pages are laid out one at a time from ``store``; of each, only the settled text blocks the later steps read
    (body, headings, atlas titles) are kept, so the analysis holds the document's text, not its pass-1 objects.
    """
    pages = store.pages
    need = margin_need(len(pages))
    body_before = most_common_size(store.font_sizes)  # before margins are set apart, as running heads are judged
    logos = repeated_digests(pages, settings)
    stamps = repeated_boxes(pages, settings)
    min_side = settings.min_figure_px * 72 / settings.dpi
    drafts: list[Draft] = []
    kept: list[Block] = []
    sizes: Counter[float] = Counter()
    first: list[Block] = []
    margins: list[Para] = []
    for p in pages:
        blocks = store.blocks(p.number)
        mark_page_margins(blocks, p.size[1], store.band_texts, need, body_before)
        margins += [Para(b.text, p.number, []) for b in blocks if b.role == "margin" and b.text.strip()]
        page_box: BBox = (0.0, 0.0, p.size[0], p.size[1])
        regions: list[tuple[BBox, str]]
        if p.scanned:
            sources = p.detected_sources or ["detected"] * len(p.detected)
            regions = [(b, s) for b, s in zip(p.detected, sources, strict=True) if _grid(b) not in stamps]
        else:
            found = figure_regions(
                p.rasters,
                p.vectors,
                page_box,
                logos=logos,
                min_side=min_side,
                min_area=settings.min_figure_area,
                background_fraction=settings.background_fraction,
            )
            regions = [(r.bbox, "embedded" if r.rasters else "vector") for r in found]
        page_drafts = assign_page(blocks, regions, p.number, p.size[0])
        # Vector clusters and blocks the layout model took for tables are figures only under a figure caption;
        # without one they are tables, boxes and ornaments. On a scan, an uncaptioned speck is a logo or a stamp.
        floor = settings.min_figure_area * page_box[2] * page_box[3]
        drafts += [
            d
            for d in page_drafts
            if d.figure_id
            or (d.source not in ("vector", "layout-table") and (not p.scanned or figure_sized(d.bbox, min_side, floor)))
        ]
        ordered = reading_order([b for b in blocks if b.role not in ("margin", "figure-text")], p.size[0])
        kept += [b.settled() for b in ordered if b.role in _TEXT_ROLES]
        sizes.update(font_sizes(blocks))
        if p is pages[0]:
            first = blocks  # the title is looked for on page 1
    body = most_common_size(sizes)
    title = document_title(first, pages[0].size[1], body) if pages else None
    assign_sections(kept, body, title)
    _sections_for(drafts, kept)
    continue_figures(drafts)
    _context(drafts, kept)
    paras = [Para(b.text, b.page, b.section) for b in kept if b.role == "body" and b.text.strip() != title]
    for d in drafts:
        if d.source == "vector":
            d.source = "embedded"
    language = store.language(settings.language)
    return Analysis(drafts=drafts, paras=paras, title=title, language=language, margins=margins)


def _sections_for(drafts: list[Draft], kept: list[Block]) -> None:
    """Each draft's section: that of the last text block above it on its page, else the last one before its page."""
    by_page: dict[int, list[Block]] = {}
    for b in kept:
        by_page.setdefault(b.page, []).append(b)
    numbers = sorted(by_page)
    for d in drafts:
        here = by_page.get(d.page, [])
        above = [b for b in here if b.bbox[1] <= d.bbox[1]]
        before = bisect.bisect_left(numbers, d.page)
        if above:
            d.section = list(above[-1].section)
        elif before:
            d.section = list(by_page[numbers[before - 1]][-1].section)
        else:
            d.section = list(here[0].section) if here else []


def _context(drafts: list[Draft], ordered: list[Block]) -> None:
    cites: dict[str, list[str]] = {}
    for b in ordered:
        if b.role != "body":
            continue
        for fid in cited_figures(b.text):
            lst = cites.setdefault(fid, [])
            if len(lst) < MAX_CONTEXT and b.text not in lst:
                lst.append(b.text)
    for d in drafts:
        if d.figure_id:
            base = re.sub(r"[A-Za-z]$", "", d.figure_id)
            d.context = cites.get(d.figure_id, []) or cites.get(base, [])
