"""Page layout over the neutral blocks: running heads and page numbers, columns and reading order.

Works on `Block`s from either path. Margins need the whole document (a running head is a line repeated at the top
of many pages): the band texts of every page are counted first, then each page is marked.
"""

from __future__ import annotations

import re
from collections import Counter

from remud_gen.extract.captions import starts_caption
from remud_gen.extract.model import Block

_PAGE_NO = re.compile(
    r"^\s*(?:[-–—]\s*)?(?:page\s*)?(?:\d{1,4}|[ivxlcdm]{1,7})(?:\s*(?:of|/)\s*\d{1,4})?(?:\s*[-–—])?\s*$"
    r"|^\s*第\s*\d+\s*页\s*$",
    re.IGNORECASE,
)
TOP_BAND = 0.085
BOTTOM_BAND = 0.075


def _signature(text: str) -> str:
    # Page numbers and years differ from page to page; the rest of a running head does not.
    return re.sub(r"\d+", "#", re.sub(r"\s+", " ", text.strip().lower()))[:80]


def mark_margins(pages: list[list[Block]], heights: list[float], body: float = 0.0) -> None:
    """Set role="margin" on running heads/feet and page numbers (in place).

    A block in the top or bottom band is a margin when its text (digits ignored) recurs in that band on at least
    three pages or a third of the pages, when it is a lone page number, or when it is a short line set smaller
    than `body` text (a running head that changes with the chapter); captions are never margins. The same steps
    run one page at a time in `remud_gen.extract.document.analyse`: count `band_signatures` over the document,
    then `mark_page_margins` each page.
    """
    counts: Counter[str] = Counter()
    for blocks, h in zip(pages, heights, strict=True):
        counts.update(band_signatures(blocks, h))
    need = margin_need(len(pages))
    for blocks, h in zip(pages, heights, strict=True):
        mark_page_margins(blocks, h, counts, need, body)


def band_signatures(blocks: list[Block], height: float) -> set[str]:
    """The texts (digits ignored) in one page's top and bottom bands."""
    return {_signature(b.text) for b in blocks if _in_band(b, height)}


def margin_need(pages: int) -> int:
    """On how many pages a band text must recur to be a running head or foot."""
    return max(2, min(3, pages), round(pages / 3)) if pages >= 2 else 10**9


def mark_page_margins(blocks: list[Block], height: float, counts: Counter[str], need: int, body: float) -> None:
    """`mark_margins` for one page, given the document's `band_signatures` counts."""
    for b in blocks:
        if not _in_band(b, height):
            continue
        small = body > 0 and b.size <= 0.9 * body and len(b.text) <= 60 and not starts_caption(b.text)
        if _PAGE_NO.match(b.text) or counts[_signature(b.text)] >= need or small:
            b.role = "margin"


def _in_band(b: Block, h: float) -> bool:
    y0, y1 = b.bbox[1], b.bbox[3]
    return y1 <= h * TOP_BAND + 4 or y0 >= h * (1 - BOTTOM_BAND) - 4


def reading_order(blocks: list[Block], page_width: float) -> list[Block]:
    """Sort blocks in reading order and set `column` (0 = left or full width).

    Full-width blocks cut the page into horizontal bands; within a band, narrow blocks are grouped into columns
    by their x-extent and read column by column.
    """
    if not blocks:
        return []
    x0 = min(b.bbox[0] for b in blocks)
    x1 = max(b.bbox[2] for b in blocks)
    width = max(x1 - x0, 1.0)
    wide = [b for b in blocks if (b.bbox[2] - b.bbox[0]) > 0.55 * width]
    narrow = [b for b in blocks if b not in wide]
    columns = _column_intervals(narrow)
    for b in narrow:
        cx = (b.bbox[0] + b.bbox[2]) / 2
        b.column = next((i for i, (a, z) in enumerate(columns) if a - 1 <= cx <= z + 1), 0)
    for b in wide:
        b.column = 0
    ordered: list[Block] = []
    band: list[Block] = []
    for b in sorted(blocks, key=lambda b: (b.bbox[1], b.bbox[0])):
        if b in wide:
            ordered += sorted(band, key=lambda x: (x.column, x.bbox[1]))
            band = []
            ordered.append(b)
        else:
            band.append(b)
    ordered += sorted(band, key=lambda x: (x.column, x.bbox[1]))
    return ordered


def _column_intervals(blocks: list[Block]) -> list[tuple[float, float]]:
    """Column x-ranges: gaps no block crosses, with a real share of the text on both sides.

    A centred title or an indented heading leaves a gap too; requiring a fifth of the text on each side (and some
    text at all) keeps such blocks from being read as a column of their own.
    """
    spans = sorted((b.bbox[0], b.bbox[2], len(b.text)) for b in blocks)
    merged: list[list[float]] = []
    for a, z, n in spans:
        if merged and a <= merged[-1][1] - 2:
            merged[-1][1] = max(merged[-1][1], z)
            merged[-1][2] += n
        else:
            merged.append([a, z, n])
    total = sum(m[2] for m in merged) or 1
    if total < 300:
        return [(min(m[0] for m in merged), max(m[1] for m in merged))] if merged else []
    columns: list[list[float]] = []
    left = 0.0
    for m in merged:
        if columns and left >= 0.2 * total and (total - left) >= 0.2 * total:
            columns.append([m[0], m[1]])
        elif columns:
            columns[-1][1] = max(columns[-1][1], m[1])
        else:
            columns.append([m[0], m[1]])
        left += m[2]
    return [(a, z) for a, z in columns]


def font_sizes(blocks: list[Block]) -> Counter[float]:
    """Characters of body text per font size (to the half point) on one page."""
    sizes: Counter[float] = Counter()
    for b in blocks:
        if b.role == "body":
            for ln in b.lines:
                sizes[round(ln.size * 2) / 2] += len(ln.text)
    return sizes


def most_common_size(sizes: Counter[float]) -> float:
    return sizes.most_common(1)[0][0] if sizes else 10.0
