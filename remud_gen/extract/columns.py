"""The text columns of one page, seen from its text blocks and its figure regions together.

An atlas page may hold little text (a title banner, a legend) and mostly frames, so columns are read from both:
the x-extents of everything narrower than the page's content width are merged, and each gap nothing crosses is a
column gutter when both sides hold a real share of the page (frames, or a fifth of the text) and it is as wide as
a gutter or has text on both sides: the narrow gaps of a grid of frames under one caption are not text columns. A
box wider than its column (a full-width title, a figure across both columns) belongs to no column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from remud_gen.extract.model import BBox, Block

_WIDE = 0.55  # an item wider than this share of the content width spans columns
_FRAME_WEIGHT = 200  # a frame weighs as much as this many characters of text when columns are judged
_SHARE = 0.15  # each column holds at least this share of the weight
_TEXT = 12  # ... and at least this many characters of text on each side of a gutter narrower than
_GUTTER = 8.0  # points


@dataclass(frozen=True)
class Columns:
    """Column x-ranges of a page, left to right (one range, or none, on a single-column page)."""

    ranges: tuple[tuple[float, float], ...]

    def of(self, box: BBox) -> int:
        """Index of the column holding `box`'s centre, or -1 when the box spans columns (or there are none)."""
        if len(self.ranges) < 2:
            return 0
        cx = (box[0] + box[2]) / 2
        for k, (a, z) in enumerate(self.ranges):
            if a - 2 <= cx <= z + 2:
                return k if box[2] - box[0] <= 1.2 * (z - a) + 4 else -1
        return -1


def page_columns(blocks: Sequence[Block], regions: Sequence[BBox], page_width: float) -> Columns:
    """The page's columns from its non-margin text blocks and its figure regions (see the module docstring)."""
    items = [(b.bbox, len(b.text), len(b.text)) for b in blocks if b.role != "margin"]
    items += [(r, _FRAME_WEIGHT, 0) for r in regions]
    if not items:
        return Columns(())
    left = min(b[0] for b, _, _ in items)
    width = max(max(b[2] for b, _, _ in items) - left, 1.0, 0.3 * page_width)
    narrow = sorted((b[0], b[2], float(w), float(t)) for b, w, t in items if b[2] - b[0] <= _WIDE * width)
    merged: list[list[float]] = []
    for a, z, w, t in narrow:
        if merged and a <= merged[-1][1] + 2:
            merged[-1][1] = max(merged[-1][1], z)
            merged[-1][2] += w
            merged[-1][3] += t
        else:
            merged.append([a, z, w, t])
    total = sum(m[2] for m in merged)
    text_after = [sum(m[3] for m in merged[k:]) for k in range(len(merged))]
    columns: list[list[float]] = []
    seen = 0.0
    for k, (a, z, w, t) in enumerate(merged):
        # A gutter starts a new column once the column so far and everything right of it each weigh enough.
        heavy = columns and columns[-1][2] >= _SHARE * total and total - seen >= _SHARE * total
        texts = columns and columns[-1][3] >= _TEXT and text_after[k] >= _TEXT
        if heavy and (texts or a - columns[-1][1] >= _GUTTER):
            columns.append([a, z, w, t])
        elif columns:
            last = columns[-1]
            last[1], last[2], last[3] = max(last[1], z), last[2] + w, last[3] + t
        else:
            columns.append([a, z, w, t])
        seen += w
    if len(columns) < 2:
        return Columns(())
    return Columns(tuple((c[0], c[1]) for c in columns))
