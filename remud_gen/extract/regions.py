"""Figure regions of a page image, found by image analysis alone (no text layer, no model).

Two kinds of region are found. *Solid* regions are dense blocks that differ from the page background: ultrasound
frames, photographs, filled diagrams (`remud_gen.extract.solid`); frames that abut without a gutter are cut at
their seam (`remud_gen.extract.seams`). *Drawn* regions are large connected line work, and line work leaving a
region (leader lines and their labels) is added to it (`remud_gen.extract.linework`).

All thresholds are relative to the page's shorter side, so the result does not depend on the render resolution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from remud_gen.extract.captions import is_legend, parse_atlas_heading, parse_caption
from remud_gen.extract.layoutmodel import LayoutBlock
from remud_gen.extract.linework import extend_over_lines, join_diagrams, line_drawings
from remud_gen.extract.ocr import OcrLine
from remud_gen.extract.solid import covered, dedupe, is_decoration, solid_regions

Box = tuple[float, float, float, float]
IntBox = tuple[int, int, int, int]

INK_DELTA = 40  # colour distance from the page background that counts as ink (above scan noise and JPEG ringing)
FAINT_DELTA = 14  # distance that still counts as "not page": pale rims of frames
FRAMED = 0.45  # frames found by image analysis whose hull covers this share of a layout block are its panels
RESIDUAL = 0.01  # ... and the block's ink beyond them is at most this share of their area
ALONE_SCORE = 0.7  # a layout block with no frame inside needs this confidence (lines of text can pass for less)
DRAWN = 0.005  # ... and ink outside its text lines on at least this share of it
_LAYOUT = {"figure": "layout", "table": "layout-table"}  # a layout block's kind -> its regions' source


def find_figures(image: np.ndarray, text_boxes: Sequence[Box] = ()) -> list[IntBox]:
    """Locate figure regions on a page image.

    Args:
        image: (H, W, 3) uint8 RGB page image.
        text_boxes: boxes of recognised text lines in the same pixel coordinates, if OCR was run; regions that are
            mostly text are dropped and text is not mistaken for line drawings.

    Returns:
        Pixel boxes (x0, y0, x1, y1), exclusive ends, top to bottom then left to right.
    """
    raw = np.ascontiguousarray(image)
    rgb = cv2.medianBlur(raw, 3)  # salt-and-pepper scan noise and JPEG ringing
    background = _background(rgb)
    dist = np.abs(rgb.astype(np.int16) - background).max(axis=2)
    ink = (dist > INK_DELTA).astype(np.uint8)
    faint = (dist > FAINT_DELTA).astype(np.uint8)
    # Hairlines of drawings do not survive the median filter; specks they let through are too small to matter.
    strokes = (np.abs(raw.astype(np.int16) - background).max(axis=2) > INK_DELTA).astype(np.uint8)
    text = _text_mask(ink.shape, text_boxes)
    short = min(ink.shape)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    solid = [box for box in solid_regions(ink, faint, gray, short) if not is_decoration(rgb, text, box)]
    art = strokes & (1 - text)
    solid, diagrams = join_diagrams(art, solid, short)
    solid = extend_over_lines(art, strokes, text, solid + diagrams, short)
    drawn = [
        box
        for box in line_drawings(strokes, text, solid, short)
        if covered(text, box) < 0.5 and not _inline(box, text_boxes)
    ]
    return sorted(dedupe(solid + drawn), key=lambda b: (b[1], b[0]))


def _background(rgb: np.ndarray) -> np.ndarray:
    """The page colour: the median colour of pixels at the most common grey level."""
    gray = rgb[::4, ::4].mean(axis=2)
    hist = np.bincount(gray.astype(np.uint8).ravel(), minlength=256)
    mode = int(np.argmax(np.convolve(hist, np.ones(5), mode="same")))
    near = rgb[::4, ::4][np.abs(gray - mode) <= 8]
    return np.median(near, axis=0).astype(np.int16)


def _text_mask(shape: tuple[int, ...], boxes: Sequence[Box]) -> np.ndarray:
    mask = np.zeros(shape[:2], dtype=np.uint8)
    for x0, y0, x1, y1 in boxes:
        mask[max(int(y0) - 1, 0) : int(y1) + 2, max(int(x0) - 1, 0) : int(x1) + 2] = 1
    return mask


def _inline(box: IntBox, text_boxes: Sequence[Box]) -> bool:
    """A glyph-sized drawing set in a text row (a decorated title character, an ornament), not a figure."""
    for x0, y0, x1, y1 in text_boxes:
        height = y1 - y0
        overlap = min(box[3], y1) - max(box[1], y0)
        gap = max(box[0] - x1, x0 - box[2])
        if overlap >= 0.5 * height and gap <= height and box[3] - box[1] <= 2 * height:
            return True
    return False


def with_layout(
    image: np.ndarray, regions: Sequence[IntBox], blocks: Sequence[LayoutBlock], lines: Sequence[OcrLine]
) -> list[tuple[IntBox, str]]:
    """Image-analysis regions reconciled with the layout model's figure and table blocks; each with its source.

    A layout block, trimmed to the ink that is its own (the model's boxes are loose), is a whole figure (a chart, a
    diagram, frames with their axes and labels) unless image analysis explains it better: when the frames found
    inside it span most of it and nothing else is drawn there, they are its panels and stay as they are; a block
    holding a caption, an atlas title or a legend has run several figures together (the model sees a column of
    stacked frames under their titles as one block) and is not used. A block with no frame inside must be a drawing
    (`_drawn`). Otherwise the block replaces the regions inside it.

    Returns:
        Regions, top to bottom, with their source: "detected" (image analysis), "layout" or "layout-table" (the
        model; a table block is kept only where a figure caption claims it, see `remud_gen.extract.document`).
    """
    titles = [line.box for line in lines if _titles(line.text)]
    text = _text_mask(image.shape, [line.box for line in lines])
    parts = _InkParts(image)
    taken: set[int] = set()
    panels: set[int] = set()
    found: list[tuple[IntBox, str]] = []
    for block in sorted(blocks, key=lambda b: -b.score):
        own = parts.within(block.box)
        if own is None or any(_centre_inside(t, block.box) for t in titles):
            continue
        box = own.box
        if any(_overlap(box, kept) >= 0.5 for kept, _ in found):
            continue
        inner = [i for i, r in enumerate(regions) if _overlap(r, box) >= 0.5]
        if inner and _explained(own, [regions[i] for i in inner]):
            panels.update(inner)
            continue
        if panels.intersection(inner):
            continue  # frames a better block already showed to be panels
        if any(_overlap(box, regions[i]) >= 0.8 for i in range(len(regions)) if i not in inner):
            continue  # the block is a part of a frame image analysis found whole
        if not inner and not _drawn(image, own, text, block.score):
            continue
        taken.update(inner)
        x0, y0, x1, y1 = _hull([box, *(regions[i] for i in inner)])
        found.append(((round(x0), round(y0), round(x1), round(y1)), _LAYOUT[block.kind]))
    found += [(r, "detected") for i, r in enumerate(regions) if i not in taken]
    return sorted(found, key=lambda t: (t[0][1], t[0][0]))


@dataclass(frozen=True)
class _BlockInk:
    """The ink of one layout block (pieces lying mostly inside it), trimmed: `mask` covers `box`."""

    box: IntBox
    mask: np.ndarray


class _InkParts:
    """The page's ink as connected pieces, so a block can keep the pieces that are its own: a banner or a line of
    text the model's loose box clips is not part of the figure, and does not widen it."""

    def __init__(self, image: np.ndarray) -> None:
        rgb = cv2.medianBlur(np.ascontiguousarray(image), 3)
        ink = (np.abs(rgb.astype(np.int16) - _background(rgb)).max(axis=2) > INK_DELTA).astype(np.uint8)
        _, self.labels, self.stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)

    def within(self, box: Box) -> _BlockInk | None:
        """The block's own ink, trimmed to the rows and columns holding it; None when it holds none."""
        height, width = self.labels.shape
        x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
        x1, y1 = min(width, round(box[2])), min(height, round(box[3]))
        crop = self.labels[y0:y1, x0:x1]
        ids = np.unique(crop)
        ids = ids[ids > 0]
        if not len(ids):
            return None
        sx, sy, sw, sh = (self.stats[ids, k].astype(np.int64) for k in range(4))
        inside_w = np.clip(np.minimum(sx + sw, x1) - np.maximum(sx, x0), 0, None)
        inside_h = np.clip(np.minimum(sy + sh, y1) - np.maximum(sy, y0), 0, None)
        own = ids[inside_w * inside_h >= 0.8 * sw * sh]
        mask = np.isin(crop, own)
        rows = np.flatnonzero(np.count_nonzero(mask, axis=1) >= 2)
        cols = np.flatnonzero(np.count_nonzero(mask, axis=0) >= 2)
        if len(rows) < 2 or len(cols) < 2:
            return None
        trimmed = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        return _BlockInk(
            (x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1), trimmed
        )


def _drawn(image: np.ndarray, own: _BlockInk, text: np.ndarray, score: float) -> bool:
    """Whether a block with no frame inside is a drawing: confidently found, not a banner or a plain bar, and with
    ink outside its text lines (boxes, arrows, axes); a diagram of labelled boxes is mostly text, a paragraph
    the model took for a figure is nothing else."""
    if score < ALONE_SCORE or is_decoration(image, np.zeros_like(text), own.box):
        return False
    x0, y0, x1, y1 = own.box
    lines = own.mask & (text[y0:y1, x0:x1] == 0)
    return bool(np.count_nonzero(lines) >= DRAWN * _area(own.box))


def _explained(own: _BlockInk, frames: list[IntBox]) -> bool:
    """Whether `frames` are all there is to a block: they span most of it and it holds next to no ink beside them
    (labels, axes, plotted lines). A row of charts whose plot areas image analysis took for frames is not."""
    if _area(_hull(frames)) < FRAMED * _area(own.box):
        return False
    outside = own.mask.copy()
    bx, by = own.box[0], own.box[1]
    pad = max(2, round(0.005 * min(outside.shape)))
    for x0, y0, x1, y1 in frames:
        outside[max(0, y0 - by - pad) : max(0, y1 - by + pad), max(0, x0 - bx - pad) : max(0, x1 - bx + pad)] = False
    return bool(np.count_nonzero(outside) <= RESIDUAL * sum(_area(f) for f in frames))


def _hull(boxes: Sequence[Box]) -> Box:
    x0s, y0s, x1s, y1s = zip(*boxes, strict=True)
    return (min(x0s), min(y0s), max(x1s), max(y1s))


def _titles(text: str) -> bool:
    parsed = parse_caption(text)
    return (parsed is not None and parsed.kind == "figure") or bool(parse_atlas_heading(text)) or is_legend(text)


def _centre_inside(box: Box, outer: Box) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return outer[0] <= cx <= outer[2] and outer[1] <= cy <= outer[3]


def _area(b: Box) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def _overlap(inner: Box, outer: Box) -> float:
    """Share of `inner`'s area that lies inside `outer`."""
    ix = max(0.0, min(inner[2], outer[2]) - max(inner[0], outer[0]))
    iy = max(0.0, min(inner[3], outer[3]) - max(inner[1], outer[1]))
    return ix * iy / max(_area(inner), 1.0)
