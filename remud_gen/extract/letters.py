"""Panel letters printed under frames: read from small crops when full-page OCR missed them, and used to cut.

Full-page text detection sometimes drops a lone letter ("C" under a frame): it is tiny next to the text lines
around it. The strip just under each figure region is searched for glyph-sized clusters of ink in one row (any
wider cluster means a text line, which page OCR reads); each cluster alone goes to the recogniser (no detection),
which is fast and reliable for one character. Anything that is not a panel letter ("A", "(b)") is ignored.
Letters sitting evenly under one region also say where frames that abut without a visible seam meet."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median

import numpy as np

from remud_gen.extract.captions import panel_label
from remud_gen.extract.ocr import OcrLine, recognise_crop

IntBox = tuple[int, int, int, int]

INK_DELTA = 60  # distance from the strip's paper colour that counts as a glyph stroke
MIN_SCORE = 0.6  # recogniser confidence needed for a letter found this way


def missing_letters(image: np.ndarray, figures: Sequence[IntBox], lines: Sequence[OcrLine]) -> list[OcrLine]:
    """Lone panel letters under figure regions that are not among `lines` yet.

    Args:
        image: (H, W, 3) uint8 RGB page image that `figures` and `lines` are measured on.
        figures: figure region boxes.
        lines: what full-page OCR found.

    Returns:
        One OCR line per letter recovered, boxed in `image`'s pixels.
    """
    height = _line_height(lines, max(image.shape[:2]))
    found: list[OcrLine] = []
    for box in figures:
        strip = _strip(box, figures, height, image.shape[0])
        if strip is None:
            continue
        known = [line.box for line in lines if _centre_in(line.box, strip)]
        for glyph in _glyphs(image, strip, height):
            if any(_centre_in(k, glyph) or _centre_in(glyph, _int(k)) for k in known):
                continue
            pad = max(2, height // 4)
            x0, y0, x1, y1 = glyph
            crop = image[max(y0 - pad, 0) : y1 + pad, max(x0 - pad, 0) : x1 + pad]
            text, score = recognise_crop(crop)
            if panel_label(text) and score >= MIN_SCORE:
                found.append(OcrLine(text=text, box=(float(x0), float(y0), float(x1), float(y1)), score=score))
    return found


def split_by_letters(figures: Sequence[IntBox], lines: Sequence[OcrLine]) -> list[IntBox]:
    """Cut a region holding k equal frames side by side (no gutter) where k panel letters sit evenly under it.

    Frames with black margins abutting show no seam in their pixels; the letters printed under them still say
    where one frame ends. A region is cut only when its letters sit at the centres of k equal slices.
    """
    if not lines:
        return list(figures)
    height = _line_height(lines, 0)
    out: list[IntBox] = []
    for box in figures:
        strip = _strip(box, figures, height, box[3] + 3 * height)
        letters = sorted(
            (line.box[0] + line.box[2]) / 2
            for line in lines
            if strip is not None and panel_label(line.text) and _centre_in(line.box, strip)
        )
        k = len(letters)
        width = box[2] - box[0]
        even = k >= 2 and all(
            abs(c - (box[0] + (j + 0.5) * width / k)) <= 0.1 * width / k for j, c in enumerate(letters)
        )
        if not even:
            out.append(box)
            continue
        cuts = [box[0] + round(j * width / k) for j in range(k + 1)]
        out += [(cuts[j], box[1], cuts[j + 1], box[3]) for j in range(k)]
    return out


def _int(box: tuple[float, float, float, float]) -> IntBox:
    return (int(box[0]), int(box[1]), int(box[2]) + 1, int(box[3]) + 1)


def _line_height(lines: Sequence[OcrLine], page_side: int) -> int:
    heights = [line.box[3] - line.box[1] for line in lines]
    # Without OCR lines: body text on a page is about 1% of its longer side, captions and labels a bit more.
    return max(8, round(median(heights) if heights else 0.015 * page_side))


def _strip(box: IntBox, figures: Sequence[IntBox], height: int, page_height: int) -> IntBox | None:
    """The band under a region where its letter is printed, stopping short of the next region below."""
    x0, _y0, x1, y1 = box
    bottom = min(page_height, y1 + 3 * height)
    for other in figures:
        if other is not box and other[1] >= y1 and other[0] < x1 and other[2] > x0:
            bottom = min(bottom, other[1])
    return (x0, y1 + 1, x1, bottom) if bottom - y1 > height // 2 else None


def _centre_in(box: tuple[float, float, float, float], strip: IntBox) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return strip[0] <= cx < strip[2] and strip[1] <= cy < strip[3]


def _glyphs(image: np.ndarray, strip: IntBox, height: int) -> list[IntBox]:
    """Letter-sized clusters of ink in one row of the strip; none when any cluster is wider (a text line)."""
    x0, y0, x1, y1 = strip
    crop = image[y0:y1, x0:x1].astype(np.int16)
    paper = np.median(crop.reshape(-1, 3), axis=0)
    ink = np.abs(crop - paper).max(axis=2) > INK_DELTA
    rows = _runs(ink.any(axis=1), bridge=max(2, height // 4))
    if len(rows) != 1:
        return []
    top, bottom = rows[0]
    # "A", "(b)": about one text line high and at most a few letters wide.
    if not 0.4 * height <= bottom - top <= 1.6 * height:
        return []
    glyphs: list[IntBox] = []
    for a, b in _runs(ink[top:bottom].any(axis=0), bridge=max(2, height // 3)):
        if b - a > 2.5 * height:
            return []
        glyphs.append((x0 + a, y0 + top, x0 + b, y0 + bottom))
    return glyphs


def _runs(values: np.ndarray, bridge: int) -> list[tuple[int, int]]:
    """Runs of True, joining runs closer than `bridge`."""
    padded = np.concatenate(([False], values, [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    runs: list[tuple[int, int]] = []
    for start, end in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        if runs and start - runs[-1][1] < bridge:
            runs[-1] = (runs[-1][0], end)
        else:
            runs.append((start, end))
    return runs
