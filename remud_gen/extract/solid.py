"""Solid figure regions: dense blocks of ink that differ from the page background.

Ultrasound frames (dark, speckled), photographs and filled diagrams are solid. Each dense connected block is split
along thin background gutters (stacked or tiled frames), grown over its pale rim, and rejected when it is
decoration: a uniform or two-tone bar (a colour banner, a heading bar with its text), an almost empty box, or a
block that OCR says is mostly text. Thresholds are relative to the page's shorter side (`short`).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from remud_gen.extract.seams import split_seams

IntBox = tuple[int, int, int, int]

MIN_SIDE = 0.03  # a solid region's shorter side, as a fraction of the page's shorter side
GUTTER = 0.08  # a gutter row/column holds at most this fraction of ink (room for a panel letter)


def solid_regions(ink: np.ndarray, faint: np.ndarray, gray: np.ndarray, short: int) -> list[IntBox]:
    """Dense blocks of ink, split at gutters, grown over their pale rims, cut at the seams of abutting frames.

    Args:
        ink: pixels clearly off the page background.
        faint: pixels slightly off it (pale rims).
        gray: the page in grey levels, where seams between abutting frames are looked for.
        short: the page's shorter side in pixels.
    """
    # Opening erases text strokes, specks and hairline bridges across gutters, but not frames.
    opened = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
    min_side = max(MIN_SIDE * short, 8)
    found: list[IntBox] = []
    for x, y, w, h, _area in stats[1:count]:
        if min(w, h) < min_side:
            continue
        for piece in _split(opened, (int(x), int(y), int(x + w), int(y + h)), min_side):
            piece = _grow(faint, piece)
            sub = opened[piece[1] : piece[3], piece[0] : piece[2]]
            if sub.mean() >= 0.45 and _filled(sub) >= 0.6:
                found += split_seams(gray, piece, 2 * min_side)
    return dedupe(found)


def _runs(values: np.ndarray) -> list[tuple[int, int]]:
    """Start and end (exclusive) of each run of True."""
    padded = np.concatenate(([False], values, [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _bridge(runs: list[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
    """Join runs separated by fewer than `gap` positions."""
    joined: list[tuple[int, int]] = []
    for start, end in runs:
        if joined and start - joined[-1][1] < gap:
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return joined


def _split(mask: np.ndarray, box: IntBox, min_side: float) -> list[IntBox]:
    """Cut a block recursively along background rows and columns into pieces of at least `min_side`."""
    x0, y0, x1, y1 = box
    sub = mask[y0:y1, x0:x1]
    rows, cols = sub.mean(axis=1) > GUTTER, sub.mean(axis=0) > GUTTER
    if not rows.any() or not cols.any():
        return []
    for axis, profile in ((0, rows), (1, cols)):
        # Gutters narrower than a few pixels are seams between scanned strips, not page background.
        spans = _bridge(_runs(profile), gap=max(3, int(0.1 * min_side)))
        spans = [(a, b) for a, b in spans if b - a >= min_side]
        if len(spans) > 1:
            pieces: list[IntBox] = []
            for a, b in spans:
                part = (x0, y0 + a, x1, y0 + b) if axis == 0 else (x0 + a, y0, x0 + b, y1)
                pieces += _split(mask, part, min_side)
            return pieces
    ys, xs = np.flatnonzero(rows), np.flatnonzero(cols)
    trimmed = (x0 + int(xs[0]), y0 + int(ys[0]), x0 + int(xs[-1]) + 1, y0 + int(ys[-1]) + 1)
    if min(trimmed[2] - trimmed[0], trimmed[3] - trimmed[1]) < min_side:
        return []
    return [trimmed]


def _grow(faint: np.ndarray, box: IntBox) -> IntBox:
    """Extend each side while the strip beyond it is mostly non-background (bright rims of a frame)."""
    x0, y0, x1, y1 = box
    height, width = faint.shape
    limit_x, limit_y = max((x1 - x0) // 10, 1), max((y1 - y0) // 10, 1)
    for _ in range(max(limit_x, limit_y)):
        moved = False
        if y0 > box[1] - limit_y and y0 > 0 and faint[y0 - 1, x0:x1].mean() >= 0.5:
            y0, moved = y0 - 1, True
        if y1 < box[3] + limit_y and y1 < height and faint[y1, x0:x1].mean() >= 0.5:
            y1, moved = y1 + 1, True
        if x0 > box[0] - limit_x and x0 > 0 and faint[y0:y1, x0 - 1].mean() >= 0.5:
            x0, moved = x0 - 1, True
        if x1 < box[2] + limit_x and x1 < width and faint[y0:y1, x1].mean() >= 0.5:
            x1, moved = x1 + 1, True
        if not moved:
            break
    return (x0, y0, x1, y1)


def _filled(sub: np.ndarray) -> float:
    """Fraction of the box inside the outer outlines of its ink (bright tissue inside a frame counts)."""
    contours, _ = cv2.findContours(sub, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(sub)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    return float(filled.mean())


def is_decoration(rgb: np.ndarray, text: np.ndarray, box: IntBox) -> bool:
    """A banner, heading bar, empty box or text panel rather than a figure."""
    x0, y0, x1, y1 = box
    crop = rgb[y0:y1, x0:x1]
    step = max(1, int(np.sqrt(crop.shape[0] * crop.shape[1] / 40_000)))
    pixels = crop[::step, ::step].reshape(-1, 3).astype(np.int16)
    first, second = _tones(pixels)
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
    local_var = cv2.blur(gray * gray, (5, 5)) - cv2.blur(gray, (5, 5)) ** 2
    smooth = float((local_var < 36).mean())
    elongated = (x1 - x0) >= 3 * (y1 - y0) or (y1 - y0) >= 3 * (x1 - x0)
    text_share = covered(text, box)
    return (
        first >= 0.9
        or text_share >= 0.5
        or (first + second >= 0.85 and (elongated or text_share >= 0.2))
        or (elongated and smooth >= 0.7)
    )


def _tones(pixels: np.ndarray) -> tuple[float, float]:
    """Fractions of pixels close to the most common colour, and to the next most common among the rest."""
    fractions: list[float] = []
    rest = pixels
    for _ in range(2):
        if len(rest) == 0:
            fractions.append(0.0)
            continue
        keys = (rest[:, 0] >> 4) * 256 + (rest[:, 1] >> 4) * 16 + (rest[:, 2] >> 4)
        values, counts = np.unique(keys, return_counts=True)
        mode = rest[keys == values[np.argmax(counts)]].mean(axis=0)
        near = np.abs(rest - mode).max(axis=1) <= 24
        fractions.append(float(near.sum()) / len(pixels))
        rest = rest[~near]
    return fractions[0], fractions[1]


def covered(mask: np.ndarray, box: IntBox) -> float:
    x0, y0, x1, y1 = box
    return float(mask[y0:y1, x0:x1].mean()) if x1 > x0 and y1 > y0 else 0.0


def dedupe(boxes: Sequence[IntBox]) -> list[IntBox]:
    """Drop boxes mostly inside a larger kept box (a block found twice through overlapping components)."""
    kept: list[IntBox] = []
    for box in sorted(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True):
        area = (box[2] - box[0]) * (box[3] - box[1])
        inside = any(_intersection(box, other) >= 0.8 * area for other in kept)
        if not inside:
            kept.append(box)
    return kept


def _intersection(a: IntBox, b: IntBox) -> int:
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
