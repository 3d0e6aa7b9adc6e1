"""Figure regions of a page image, found by image analysis alone (no text layer, no model).

Two kinds of region are found. *Solid* regions are dense blocks that differ from the page background: ultrasound
frames, photographs, filled diagrams (`remud_gen.extract.solid`); frames that abut without a gutter are cut at
their seam (`remud_gen.extract.seams`). *Drawn* regions are large connected line work, and line work leaving a
region (leader lines and their labels) is added to it (`remud_gen.extract.linework`).

All thresholds are relative to the page's shorter side, so the result does not depend on the render resolution.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from remud_gen.extract.linework import extend_over_lines, join_diagrams, line_drawings
from remud_gen.extract.solid import covered, dedupe, is_decoration, solid_regions

Box = tuple[float, float, float, float]
IntBox = tuple[int, int, int, int]

INK_DELTA = 40  # colour distance from the page background that counts as ink (above scan noise and JPEG ringing)
FAINT_DELTA = 14  # distance that still counts as "not page": pale rims of frames


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
