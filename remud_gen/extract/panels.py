"""Split one raster holding several panels (a grid of frames, a row of plots) into panel boxes.

Journals often store a multi-panel figure as ONE image. When the caption names N panels, the rendered crop is cut
along gutters (rows or columns of one flat colour, white or black) by a recursive XY-cut: rows first, then
columns inside each row (or the other way round). Slivers narrower than a third of their neighbours (a colour bar,
a detached axis label, a panel letter) are merged into the nearer neighbour. The cut is accepted only when it
yields exactly N cells, so a figure whose layout does not match its caption is left whole.
"""

from __future__ import annotations

import numpy as np

PixBox = tuple[int, int, int, int]
MAX_SIDE = 1400  # gutters are found on a copy no larger than this; boxes are scaled back


def _flat(ink: np.ndarray, stray: int = 1) -> np.ndarray:
    """Which rows of an (n, m) ink mask are background: at most `stray` pixels off the background level."""
    return np.count_nonzero(ink, axis=1) <= stray


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) runs of False (content) in a boolean gutter mask."""
    runs: list[tuple[int, int]] = []
    start = None
    for i, g in enumerate([*mask.tolist(), True]):
        if not g and start is None:
            start = i
        elif g and start is not None:
            runs.append((start, i))
            start = None
    return runs


def _segments(ink: np.ndarray, axis: int, min_gutter: int) -> list[tuple[int, int]]:
    lines = ink if axis == 0 else ink.T
    runs = _runs(_flat(lines))
    # Gutters thinner than min_gutter do not cut.
    merged: list[list[int]] = []
    for a, z in runs:
        if merged and a - merged[-1][1] < min_gutter:
            merged[-1][1] = z
        else:
            merged.append([a, z])
    segs = [(a, z) for a, z in merged]
    return _absorb_slivers(segs, lines, columns=axis == 1)


def _absorb_slivers(segs: list[tuple[int, int]], lines: np.ndarray, *, columns: bool) -> list[tuple[int, int]]:
    segs = list(segs)
    while len(segs) > 1:
        sizes = [z - a for a, z in segs]
        i = int(np.argmin(sizes))
        if sizes[i] >= 0.34 * max(sizes):
            break
        left_gap = segs[i][0] - segs[i - 1][1] if i > 0 else None
        right_gap = segs[i + 1][0] - segs[i][1] if i + 1 < len(segs) else None
        to_left = right_gap is None or (left_gap is not None and left_gap <= right_gap)
        if columns and left_gap is not None and right_gap is not None:
            # A tall sliver (colour bar, legend) belongs to the plot on its left; a short one is a panel letter,
            # printed before (left of) its panel.
            to_left = _tall(lines[segs[i][0] : segs[i][1]])
        j = i - 1 if to_left else i + 1
        a, b = sorted((i, j))
        segs[a : b + 1] = [(segs[a][0], segs[b][1])]
    return segs


def _tall(lines: np.ndarray) -> bool:
    """True when a sliver's content spans most of the band (a colour bar), not a short label."""
    rows = np.where(~_flat(lines.T, 0))[0]
    return len(rows) > 0 and (rows[-1] - rows[0]) > 0.45 * lines.shape[1]


def _trim(ink: np.ndarray, box: PixBox) -> PixBox | None:
    x0, y0, x1, y1 = box
    sub = ink[y0:y1, x0:x1]
    if sub.size == 0:
        return None
    rows = np.where(~_flat(sub, 0))[0]
    cols = np.where(~_flat(sub.T, 0))[0]
    if len(rows) == 0 or len(cols) == 0:
        return None
    return (x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1)


def background(grey: np.ndarray) -> float:
    """The figure's background level: the median of its border pixels (white paper, or a black plate)."""
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return float(np.median(border))


def _cut(ink: np.ndarray, first_axis: int, min_gutter: int) -> list[PixBox]:
    cells: list[PixBox] = []
    for a, z in _segments(ink, first_axis, min_gutter):
        band = ink[a:z, :] if first_axis == 0 else ink[:, a:z]
        for b, e in _segments(band, 1 - first_axis, min_gutter):
            box = (b, a, e, z) if first_axis == 0 else (a, b, z, e)
            t = _trim(ink, box)
            if t is not None:
                cells.append(t)
    return cells


def split_panels(rgb: np.ndarray, n: int) -> list[PixBox] | None:
    """Pixel boxes of exactly `n` panels in reading order, or None when the image shows no such grid.

    Args:
        rgb: the rendered figure, (H, W, 3) uint8.
        n: the number of panels its caption names (2..26).
    """
    if n < 2 or rgb.ndim != 3 or min(rgb.shape[:2]) < 16:
        return None
    step = max(1, int(np.ceil(max(rgb.shape[:2]) / MAX_SIDE)))
    small = rgb[::step, ::step]
    grey = (small[:, :, 0].astype(np.float32) + small[:, :, 1] + small[:, :, 2]) / 3
    base = max(2, round(min(grey.shape) * 0.003))
    # Pictures that run to the raster's edge hide the paper colour, so white and black gutters are tried too.
    levels = dict.fromkeys([background(grey), 255.0, 0.0])
    for bg in levels:
        ink = np.abs(grey - bg) > 28  # off the background by more than JPEG noise
        for gutter in (base, base * 4):
            for axis in (0, 1):
                cells = _cut(ink, axis, gutter)
                if len(cells) == n and _plausible(cells, grey.shape[1] * grey.shape[0]):
                    h, w = rgb.shape[:2]
                    return [(x0 * step, y0 * step, min(w, x1 * step), min(h, y1 * step)) for x0, y0, x1, y1 in cells]
    return None


def _plausible(cells: list[PixBox], total: int) -> bool:
    # Every panel must be a real share of the figure, not a stray label.
    areas = [(x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in cells]
    return min(areas) >= 0.02 * total and min(areas) >= 0.08 * max(areas)
