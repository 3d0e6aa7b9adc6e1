"""Figure regions of a page image, found by image analysis alone (no text layer, no model).

Two kinds of region are found. *Solid* regions are dense blocks that differ from the page background: ultrasound
frames (dark, speckled), photographs, filled diagrams. Each dense connected block is split along thin background
gutters (stacked or tiled frames) and rejected when it is decoration: a uniform or two-tone bar (a colour banner, a
heading bar with its text), an almost empty box, or a block that OCR says is mostly text. Small solid shapes joined
by lines become one diagram (flowchart nodes), and a region grows over line work leaving it (leader lines, the
unshaded rest of a sketch). *Drawn* regions are large connected line work (illustrations, line diagrams) left after
removing text and solid regions; rules, table grids and glyph-sized ornaments set in a text row are not figures.

All thresholds are relative to the page's shorter side, so the result does not depend on the render resolution.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

Box = tuple[float, float, float, float]
IntBox = tuple[int, int, int, int]

INK_DELTA = 40  # colour distance from the page background that counts as ink (above scan noise and JPEG ringing)
FAINT_DELTA = 14  # distance that still counts as "not page": pale rims of frames
MIN_SIDE = 0.03  # a solid region's shorter side, as a fraction of the page's shorter side
SEED_SIDE = 0.05  # a drawing stroke component's longer side
DRAWING_SIDE = 0.08  # a drawing's shorter side
GUTTER = 0.08  # a gutter row/column holds at most this fraction of ink (room for a panel letter)


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
    solid = [box for box in _solid(ink, faint, short) if not _decoration(rgb, text, box)]
    art = strokes & (1 - text)
    solid, diagrams = _diagrams(art, solid, short)
    solid = _extend(art, solid + diagrams, short)
    drawn = [
        box
        for box in _drawings(strokes, text, solid, short)
        if _covered(text, box) < 0.5 and not _inline(box, text_boxes)
    ]
    return sorted(_dedupe(solid + drawn), key=lambda b: (b[1], b[0]))


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


def _covered(mask: np.ndarray, box: IntBox) -> float:
    x0, y0, x1, y1 = box
    return float(mask[y0:y1, x0:x1].mean()) if x1 > x0 and y1 > y0 else 0.0


def _solid(ink: np.ndarray, faint: np.ndarray, short: int) -> list[IntBox]:
    """Dense blocks of ink, split at gutters, grown over their pale rims."""
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
                found.append(piece)
    return _dedupe(found)


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


def _decoration(rgb: np.ndarray, text: np.ndarray, box: IntBox) -> bool:
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
    covered = _covered(text, box)
    return (
        first >= 0.9
        or covered >= 0.5
        or (first + second >= 0.85 and (elongated or covered >= 0.2))
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


def _diagrams(art: np.ndarray, solid: list[IntBox], short: int) -> tuple[list[IntBox], list[IntBox]]:
    """Small solid shapes joined by lines (flowchart nodes, labelled boxes) merged into one diagram.

    Frames tiled in a grid are not merged even when a border joins them: they fill most of their group's box,
    while a diagram's shapes leave most of it empty.

    Returns:
        The solid boxes that stay separate, and the diagram boxes.
    """
    if len(solid) < 2:
        return solid, []
    reach = max(int(0.004 * short), 2)
    _count, groups, stats, _ = cv2.connectedComponentsWithStats(
        cv2.dilate(art, np.ones((reach, reach), np.uint8)), connectivity=8
    )
    members: dict[int, list[IntBox]] = {}
    for box in solid:
        labels = np.bincount(groups[box[1] : box[3], box[0] : box[2]].ravel())
        labels[0] = 0
        if labels.any():
            members.setdefault(int(np.argmax(labels)), []).append(box)
    merged: list[IntBox] = []
    diagrams: list[IntBox] = []
    for group, boxes in members.items():
        x, y, w, h, _area = stats[group]
        shapes = sum((b[2] - b[0]) * (b[3] - b[1]) for b in boxes)
        if len(boxes) >= 2 and shapes < 0.4 * w * h:
            half = reach // 2
            diagrams.append((int(x + half), int(y + half), int(x + w - half), int(y + h - half)))
            merged += boxes
    return [b for b in solid if b not in merged], diagrams


def _extend(art: np.ndarray, solid: list[IntBox], short: int) -> list[IntBox]:
    """Grow each region over the line work that leaves it (leader lines and their labels, the rest of a sketch).

    Slivers along an edge (a frame's rim left outside its box) do not reach far enough out to count.
    """
    rest = art.copy()
    for x0, y0, x1, y1 in solid:
        rest[y0:y1, x0:x1] = 0
    _count, labels, stats, _ = cv2.connectedComponentsWithStats(rest, connectivity=8)
    grown: list[IntBox] = []
    for x0, y0, x1, y1 in solid:
        box = [x0, y0, x1, y1]
        near = labels[max(y0 - 2, 0) : y1 + 2, max(x0 - 2, 0) : x1 + 2]
        for label in np.unique(near[near > 0]):
            cx, cy, cw, ch, _area = stats[label]
            if max(x0 - cx, y0 - cy, cx + cw - x1, cy + ch - y1) >= 0.02 * short:
                box = [min(box[0], cx), min(box[1], cy), max(box[2], cx + cw), max(box[3], cy + ch)]
        grown.append((int(box[0]), int(box[1]), int(box[2]), int(box[3])))
    return grown


def _drawings(strokes: np.ndarray, text: np.ndarray, solid: Sequence[IntBox], short: int) -> list[IntBox]:
    """Large line work seeded by big connected strokes, with text, solid regions, rules and table grids removed."""
    strokes = strokes.copy()
    strokes[text > 0] = 0
    for x0, y0, x1, y1 in solid:
        strokes[y0:y1, x0:x1] = 0
    rules = _rules(strokes, short)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(strokes, connectivity=8)
    on_rules = np.bincount(labels[rules > 0], minlength=count)
    # Touching letters of a word (and words OCR missed) are glyph-high; strokes of a drawing are not.
    small = stats[1:][(stats[1:, 4] >= 4) & (stats[1:, 3] < SEED_SIDE * short)]
    glyph = float(np.median(small[:, 3])) if len(small) else 0.0
    thick = np.minimum(stats[:, 2], stats[:, 3]) >= max(2.5 * glyph, 0.02 * short)
    seeds = (np.maximum(stats[:, 2], stats[:, 3]) >= SEED_SIDE * short) & thick & (on_rules < 0.7 * stats[:, 4])
    seeds[0] = False
    if not seeds.any():
        return []
    # Dotted outlines, hatching and labels are many small pieces: each seed gathers the pieces near it.
    reach = max(int(0.012 * short), 3)
    joined = cv2.dilate(strokes & (1 - rules), np.ones((reach, reach), np.uint8))
    _count, groups, group_stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    found: list[IntBox] = []
    for group in np.unique(groups[seeds[labels]]):
        if group == 0:  # seed pixels on a rule are not in any group
            continue
        x, y, w, h, _area = group_stats[group]
        # Dilation widened the group by half the kernel on every side.
        box = (int(x + reach // 2), int(y + reach // 2), int(x + w - reach // 2), int(y + h - reach // 2))
        if min(box[2] - box[0], box[3] - box[1]) >= max(DRAWING_SIDE * short, 16):
            found.append(box)
    return found


def _rules(strokes: np.ndarray, short: int) -> np.ndarray:
    """Pixels of long thin horizontal or vertical lines (rules, table grids, frames drawn around text)."""
    length, thick = max(int(0.12 * short), 5), max(int(0.006 * short), 3)
    rules = np.zeros_like(strokes)
    for along, across in (((1, length), (thick, 1)), ((length, 1), (1, thick))):
        long_runs = cv2.morphologyEx(strokes, cv2.MORPH_OPEN, np.ones(along, np.uint8))
        # A filled shape has long runs too; a rule is also thin across its length.
        solid = cv2.morphologyEx(strokes, cv2.MORPH_OPEN, np.ones(across, np.uint8))
        rules |= ((long_runs > 0) & (solid == 0)).astype(np.uint8)
    return rules


def _dedupe(boxes: Sequence[IntBox]) -> list[IntBox]:
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
