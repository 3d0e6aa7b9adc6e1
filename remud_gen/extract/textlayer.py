"""Text lines of a born-digital page, regrouped into paragraph blocks.

PyMuPDF's own blocks are unreliable across producers (some journals emit one block per line, others put a caption
and the paragraph after it in one block), so lines are taken from `get_text("dict")` and regrouped here with rules
that the caption logic depends on: a caption line always starts a new block.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pymupdf

from remud_gen.extract.captions import panel_label, parse_atlas_heading, starts_caption
from remud_gen.extract.model import BBox, Block, Line, y_overlap

# Ligatures are expanded (no TEXT_PRESERVE_LIGATURES) so "classiﬁer" is searchable as "classifier"; text outside the
# media box is clipped; images are not needed in the text dict (they come from get_image_info).
TEXT_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP

_BOLD_FONT = re.compile(r"bold|black|heavy|semibold|demi|黑体|粗", re.IGNORECASE)


def page_lines(page: pymupdf.Page) -> list[Line]:
    """Horizontal text lines of `page` in content order; same-baseline fragments are joined."""
    data = page.get_text("dict", flags=TEXT_FLAGS)
    lines: list[Line] = []
    for blk in data.get("blocks", []):
        if blk.get("type", 0) != 0:
            continue
        for ln in blk.get("lines", []):
            if abs(ln.get("dir", (1, 0))[1]) > 0.2:
                continue  # rotated margin text (journal side notes, vertical running heads)
            spans = [s for s in ln.get("spans", []) if s.get("text", "")]
            text = "".join(s["text"] for s in spans).replace("\u00ad", "")
            if not text.strip():
                continue
            size = max(s.get("size", 0.0) for s in spans)
            bold = all(
                bool(s.get("flags", 0) & 16) or bool(_BOLD_FONT.search(s.get("font", "")))
                for s in spans
                if s["text"].strip()
            )
            x0, y0, x1, y1 = (float(v) for v in ln["bbox"])
            line = Line(text=text.strip(), bbox=(x0, y0, x1, y1), size=round(size, 1), bold=bold)
            if lines and _same_row(lines[-1], line):
                prev = lines[-1]
                prev.text = f"{prev.text} {line.text}"
                prev.bbox = (
                    prev.bbox[0],
                    min(prev.bbox[1], line.bbox[1]),
                    line.bbox[2],
                    max(prev.bbox[3], line.bbox[3]),
                )
                prev.bold = prev.bold and line.bold
                continue
            lines.append(line)
    return lines


def _same_row(prev: Line, cur: Line) -> bool:
    # Justified lines are sometimes emitted word by word; glue fragments that sit on one baseline next to each other.
    return (
        y_overlap(prev.bbox, cur.bbox) > 0.6
        and 0 <= cur.bbox[0] - prev.bbox[2] <= max(prev.size, cur.size) * 1.5
        and abs(prev.size - cur.size) < 0.6
    )


def group_lines(lines: list[Line], page: int, regions: Sequence[BBox] = (), ocr: bool = False) -> list[Block]:
    """Group consecutive lines into paragraph blocks (used for text-layer and OCR lines alike).

    A line joins the current block when it sits just below the previous line, overlaps it horizontally and has
    the same size; a line that looks like a caption start ("Figure 2.", "图3-2") always opens a new block. With
    `regions` (figures found on a scanned page), a line printed inside a figure never joins one outside it: the
    overlay text at the top of a frame is not the last line of the title above the frame. OCR'd lines (`ocr`) have
    sizes measured from their boxes, which parentheses and descenders stretch: a wider size difference is allowed.
    """
    blocks: list[Block] = []
    cur: list[Line] = []
    owner = -1
    for ln in lines:
        here = _owner(ln.bbox, regions)
        if cur and here == owner and _continues(cur, ln, 0.35 if ocr else 0.12):
            cur.append(ln)
            continue
        owner = here
        if cur:
            blocks.append(Block(lines=cur, page=page))
        cur = [ln]
    if cur:
        blocks.append(Block(lines=cur, page=page))
    return blocks


def _owner(box: BBox, regions: Sequence[BBox]) -> int:
    """Index of the region holding the box's centre, or -1."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return next((i for i, r in enumerate(regions) if r[0] <= cx <= r[2] and r[1] <= cy <= r[3]), -1)


def _continues(cur: list[Line], ln: Line, size_tolerance: float) -> bool:
    prev = cur[-1]
    h = max(prev.size, ln.size, 1.0)
    vgap = ln.bbox[1] - prev.bbox[3]
    if vgap > 0.9 * h or vgap < -0.6 * h:
        return False
    left = min(x.bbox[0] for x in cur)
    right = max(x.bbox[2] for x in cur)
    if ln.bbox[2] < left or ln.bbox[0] > right:
        return False
    if abs(prev.size - ln.size) > max(1.0, size_tolerance * h):
        return False
    if ln.bbox[0] - prev.bbox[0] >= 1.2 * h and len(cur) >= 1 and prev.bbox[2] >= right - 2 * h:
        return False  # a first-line indent under a full line: a new paragraph
    if len(cur) >= 2 and prev.bbox[2] < right - 3 * h and ln.bbox[0] - left >= 1.2 * h:
        return False  # the previous line ended short and this one is indented: a new paragraph
    if starts_caption(ln.text) or parse_atlas_heading(ln.text) or panel_label(ln.text) or panel_label(prev.text):
        return False  # captions and heading bars open a block; a printed panel letter is a block of its own
    # A wholly bold line next to regular lines is a heading (a bold word inside a line does not make it bold).
    return prev.bold == ln.bold
