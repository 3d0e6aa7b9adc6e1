"""Frames that abut without a gutter: a solid region holding k equal frames is cut at their seams.

Two frames pasted edge to edge meet along a straight line where the picture jumps: the difference between the
columns either side of the seam is several times the usual column-to-column difference of either picture, and it
is so along the whole seam. A cut is made only at the positions that divide the region into k equal parts
(k = 2 or 3), only when the jump holds along most of the seam's length (a long bright tissue interface is
strong in places, not everywhere), and pieces are cut again (rows first, then columns) for grids.
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np

IntBox = tuple[int, int, int, int]

JUMP = 3.0  # the seam's difference over the median column difference (median over the seam's pieces)
SEGMENTS = 6  # the seam is checked piecewise along its length
SEGMENT_JUMP = 2.0  # ... a piece shows a jump at this ratio
MIN_SEGMENTS = 4  # ... and at least this many pieces must
LAYER_JUMP = 6.0  # the jump needed for a seam between stacked frames (see `_cuts`)
BROKEN = 0.5  # texture correlation across a seam is at most this share of the region's median correlation
WEAK_JUMP = 2.0  # the jump needed in a textured region (lateral speckle: columns correlate ...
TEXTURED = 0.7  # ... at least this much), where the broken texture says most
DRIFT = 3  # columns a piece's jump may sit off the seam (skew)
PAPER = 230  # grey level of white paper and diagram backgrounds
MAX_PAPER = 0.15  # frames have at most this share of such pixels
MAX_ASPECT = 3.0  # a cut may not leave a piece longer than this many times its width (or the reverse)


def split_seams(gray: np.ndarray, box: IntBox, min_side: float) -> list[IntBox]:
    """Cut `box` at the seams of equal frames that abut; the box itself when it shows none.

    Args:
        gray: (H, W) uint8 grey page image.
        box: a solid region (x0, y0, x1, y1).
        min_side: smallest side a piece may have, in pixels.
    """
    x0, y0, x1, y1 = box
    if min(x1 - x0, y1 - y0) < 8:
        return [box]
    # A 5x5 median keeps a seam (a step) but erases hairlines one or two pixels wide (where scanned strips meet).
    sub = cv2.medianBlur(np.ascontiguousarray(gray[y0:y1, x0:x1]), 5).astype(np.float32)
    if float((sub >= PAPER).mean()) > MAX_PAPER:
        return [box]  # a diagram on white: its shapes have straight edges, and frames are not pale
    rows = _cuts(sub.T, min_side, across_layers=True)
    bands = [(y0 + a, y0 + b) for a, b in itertools.pairwise([0, *rows, y1 - y0])]
    pieces: list[IntBox] = []
    for top, bottom in bands:
        # Rows, then columns inside each row, once each: cutting a piece again along the same axis would look
        # for a second seam inside one frame, where a straight tissue layer can pass for one.
        cols = _cuts(sub[top - y0 : bottom - y0], min_side)
        pieces += [(x0 + a, top, x0 + b, bottom) for a, b in itertools.pairwise([0, *cols, x1 - x0])]
    return pieces


def _cuts(sub: np.ndarray, min_side: float, *, across_layers: bool = False) -> list[int]:
    """Column positions cutting `sub` into k equal frames at seams, or [] (k tried from 2 up to 3).

    `across_layers` is set when `sub` is a transposed region, so its columns are image rows: tissue layers run
    along rows and a bright straight layer can jump nearly as a seam does. There only a strong jump along
    nearly all of the seam counts (the dark far field of one frame meeting the bright skin line of the next).
    """
    height, width = sub.shape
    if width < 2 * min_side or height < min_side:
        return []
    strength, votes = _seam_scores(sub)
    continuity = _continuity(sub)
    if across_layers:
        seams = (votes >= SEGMENTS - 1) & (strength >= LAYER_JUMP)
    else:
        # Speckle runs on across columns inside a frame, even across a shadow's edge; two pictures pasted side by
        # side do not continue each other's texture.
        typical = float(np.median(continuity))
        jump = WEAK_JUMP if typical >= TEXTURED else JUMP
        seams = (votes >= MIN_SEGMENTS) & (strength >= jump) & (continuity <= BROKEN * typical)
    for k in (2, 3):
        piece = width / k
        if piece < min_side or max(piece / height, height / piece) > MAX_ASPECT:
            continue
        tolerance = max(2, round(0.02 * width))
        cuts: list[int] = []
        for j in range(1, k):
            centre = round(j * piece) - 1  # score i compares columns i and i + 2, so it is centred on i + 1
            lo, hi = max(centre - tolerance, 0), min(centre + tolerance + 1, len(strength))
            if lo >= hi:
                break
            seam = seams[lo:hi]
            if not seam.any():
                break
            cuts.append(lo + int(np.argmax(np.where(seam, strength[lo:hi], 0.0))) + 1)
        if len(cuts) == k - 1:
            return cuts
    return []


def _continuity(sub: np.ndarray) -> np.ndarray:
    """Per column: correlation of the fine texture (smooth shading removed) of columns i and i + 2.

    Taken piecewise along the seam's length, each piece at its lowest within a few columns (skew), then the
    median over the pieces.
    """
    fine = sub - cv2.blur(sub, (1, 15))
    pieces = []
    for part in np.array_split(fine, SEGMENTS, axis=0):
        a, b = part[:, :-2], part[:, 2:]
        corr = (a * b).sum(axis=0) / (np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0)) + 1e-6)
        padded = np.pad(corr, DRIFT, mode="edge")
        pieces.append(np.lib.stride_tricks.sliding_window_view(padded, 2 * DRIFT + 1).min(axis=1))
    return np.asarray(np.median(np.stack(pieces), axis=0))


def _seam_scores(sub: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column: the median jump over the seam's pieces, and how many pieces show a jump.

    Columns two apart are compared, since a resampled seam is blurred over one column; each piece of the
    seam's length may find its jump a few columns off, as a skewed scan tilts the seam.
    """
    diff = np.abs(sub[:, 2:] - sub[:, :-2])
    profiles = np.stack([piece.mean(axis=0) for piece in np.array_split(diff, SEGMENTS, axis=0)])
    ratio = profiles / (np.median(profiles, axis=1, keepdims=True) + 1.0)
    padded = np.pad(ratio, ((0, 0), (DRIFT, DRIFT)), mode="edge")
    spread = np.lib.stride_tricks.sliding_window_view(padded, 2 * DRIFT + 1, axis=1).max(axis=2)
    return np.median(spread, axis=0), (spread >= SEGMENT_JUMP).sum(axis=0)
