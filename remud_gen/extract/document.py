"""Whole-document analysis between the two passes: margins, logos, figure drafts, sections, context, language.

Input: the `PageData` of every page (small: text and boxes, no pixels). Output: figure drafts ready to render,
body paragraphs for chunking, the document title and language.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from remud_gen.extract.assign import Draft, assign_page
from remud_gen.extract.captions import cited_figures, panel_sentences
from remud_gen.extract.chunks import Para
from remud_gen.extract.graphics import figure_regions
from remud_gen.extract.headings import assign_sections, document_title
from remud_gen.extract.layout import body_font_size, mark_margins, reading_order
from remud_gen.extract.model import BBox, Block, area
from remud_gen.extract.pages import PageData
from remud_gen.extract.settings import ExtractSettings
from remud_gen.records import Language

MAX_CONTEXT = 5
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")


@dataclass
class Analysis:
    drafts: list[Draft]
    paras: list[Para]
    title: str | None
    language: Language


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


def detect_language(pages: list[PageData], setting: str) -> Language:
    """zh when at least 15% of the letters are CJK, unless the settings fix the language."""
    if setting in ("zh", "en"):
        return setting  # type: ignore[return-value]
    cjk = latin = 0
    for p in pages:
        for b in p.blocks:
            cjk += len(_CJK.findall(b.text))
            latin += len(_LATIN.findall(b.text))
    return "zh" if cjk >= 0.15 * max(cjk + latin, 1) and cjk > 0 else "en"


def analyse(pages: list[PageData], settings: ExtractSettings) -> Analysis:
    """Run every cross-page decision; see the module docstring."""
    mark_margins([p.blocks for p in pages], [p.size[1] for p in pages], body_font_size([p.blocks for p in pages]))
    logos = repeated_digests(pages, settings)
    stamps = repeated_boxes(pages, settings)
    min_side = settings.min_figure_px * 72 / settings.dpi
    drafts: list[Draft] = []
    ordered: list[Block] = []
    for p in pages:
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
        page_drafts = assign_page(p.blocks, regions, p.number, p.size[0])
        # Vector clusters without a figure caption are tables, boxes and ornaments.
        drafts += [d for d in page_drafts if d.source != "vector" or d.figure_id]
        ordered += reading_order([b for b in p.blocks if b.role not in ("margin", "figure-text")], p.size[0])
    body = body_font_size([p.blocks for p in pages])
    title = document_title(pages[0].blocks, pages[0].size[1], body) if pages else None
    assign_sections([b for b in ordered if b.role in ("body", "heading", "atlas")], body, title)
    _sections_for(drafts, ordered)
    _continue_figures(drafts)
    _context(drafts, ordered)
    paras = [Para(b.text, b.page, b.section) for b in ordered if b.role == "body" and b.text.strip() != title]
    for d in drafts:
        if d.source == "vector":
            d.source = "embedded"
    return Analysis(drafts=drafts, paras=paras, title=title, language=detect_language(pages, settings.language))


def _sections_for(drafts: list[Draft], ordered: list[Block]) -> None:
    last: dict[int, list[str]] = {}
    for b in ordered:
        last.setdefault(b.page, b.section)
    for d in drafts:
        above = [
            b for b in ordered if b.page == d.page and b.bbox[1] <= d.bbox[1] and b.role in ("body", "heading", "atlas")
        ]
        if above:
            d.section = list(above[-1].section)
        else:
            prev = [b for b in ordered if b.page < d.page and b.role in ("body", "heading", "atlas")]
            d.section = list(prev[-1].section) if prev else list(last.get(d.page, []))


def _continue_figures(drafts: list[Draft]) -> None:
    """Panels with a letter but no title continue the figure before them (next column or next page)."""
    prev: Draft | None = None
    for d in drafts:
        if (
            d.figure_id is None
            and d.panel
            and prev is not None
            and prev.figure_id
            and prev.panel
            and d.page - prev.page <= 1
            and d.panel.upper() > prev.panel.upper()
        ):
            d.figure_id = prev.figure_id
            d.caption = prev.caption if not d.caption else f"{prev.caption}\n{d.caption}"
            d.section = prev.section
        prev = d
    # Panels of one figure share the full caption (title + legend) whichever part each one sat next to. A figure
    # id met again pages later (books restart numbering per chapter) is another figure.
    parts: list[list[str]] = []
    last: dict[str, tuple[int, int]] = {}
    keys: list[int] = []
    for d in drafts:
        if not (d.figure_id and d.panel):
            keys.append(-1)
            continue
        k, page = last.get(d.figure_id, (-1, -10))
        if d.page - page > 1:
            parts.append([])
            k = len(parts) - 1
        last[d.figure_id] = (k, d.page)
        keys.append(k)
        parts[k] += [ln for ln in d.caption.split("\n") if ln.strip() and ln not in parts[k]]
    for d, k in zip(drafts, keys, strict=True):
        if k >= 0:
            d.caption = "\n".join(parts[k])
            d.panel_caption = panel_sentences(d.caption).get(d.panel.upper() if d.panel else "", "")


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
