"""Line work around and between figure regions: diagrams of joined shapes, leader lines, line drawings.

Small solid shapes joined by lines become one diagram (flowchart nodes); a region grows over line work leaving it
(leader lines, the unshaded rest of a sketch) and over the labels those lines point at. *Drawn* regions are large
connected line work (illustrations, line diagrams) left after removing text and solid regions; rules, table grids
and glyph-sized ornaments set in a text row are not figures. Thresholds are relative to the page's shorter side.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

IntBox = tuple[int, int, int, int]

SEED_SIDE = 0.05  # a drawing stroke component's longer side
DRAWING_SIDE = 0.08  # a drawing's shorter side


def join_diagrams(art: np.ndarray, solid: list[IntBox], short: int) -> tuple[list[IntBox], list[IntBox]]:
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


def extend_over_lines(
    art: np.ndarray, strokes: np.ndarray, text: np.ndarray, regions: list[IntBox], short: int
) -> list[IntBox]:
    """Grow each region over the line work that leaves it and over the labels that line work points at.

    Slivers along an edge (a frame's rim left outside its box) do not reach far enough out to count. A label is
    a short text line (an OCR box, or a cluster of glyphs when there is no OCR) within reach of a leader line.

    Args:
        art: stroke pixels with text removed.
        strokes: all stroke pixels (glyphs of labels OCR did not box included).
        text: mask of OCR text boxes.
        regions: region boxes.
        short: the page's shorter side in pixels.
    """
    rest = art.copy()
    for x0, y0, x1, y1 in regions:
        rest[y0:y1, x0:x1] = 0
    _count, labels, stats, _ = cv2.connectedComponentsWithStats(rest, connectivity=8)
    reach = max(int(0.012 * short), 3)
    grown: list[IntBox] = []
    leaving_by_region: list[list[int]] = []
    for x0, y0, x1, y1 in regions:
        near = labels[max(y0 - 2, 0) : y1 + 2, max(x0 - 2, 0) : x1 + 2]
        leaving = [
            int(label)
            for label in np.unique(near[near > 0])
            if max(x0 - stats[label, 0], y0 - stats[label, 1], _end(stats[label], 0) - x1, _end(stats[label], 1) - y1)
            >= 0.02 * short
        ]
        leaving_by_region.append(leaving)
        box = (x0, y0, x1, y1)
        for label in leaving:
            box = _union(box, _stat_box(stats[label]))
        grown.append(box)
    if not any(leaving_by_region):
        return grown
    words = _label_blobs(rest, strokes, text, regions, [k for ks in leaving_by_region for k in ks], labels, reach)
    return [
        _add_labels(box, leaving, labels, words, reach, short) if leaving else box
        for box, leaving in zip(grown, leaving_by_region, strict=True)
    ]


def _end(stat: np.ndarray, axis: int) -> int:
    return int(stat[axis] + stat[axis + 2])


def _stat_box(stat: np.ndarray) -> IntBox:
    return (int(stat[0]), int(stat[1]), _end(stat, 0), _end(stat, 1))


def _union(a: IntBox, b: IntBox) -> IntBox:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _label_blobs(
    rest: np.ndarray,
    strokes: np.ndarray,
    text: np.ndarray,
    regions: list[IntBox],
    leaving: list[int],
    labels: np.ndarray,
    reach: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate labels outside every region: OCR boxes, and glyphs joined into words (leader lines left out)."""
    glyphs = strokes & (1 - np.isin(labels, leaving).astype(np.uint8))
    for x0, y0, x1, y1 in regions:
        glyphs[y0:y1, x0:x1] = 0
    # Glyphs of one word sit closer than a letter's width; joining them horizontally makes the word one blob.
    words = cv2.dilate(glyphs, np.ones((1, reach), np.uint8)) | text
    for x0, y0, x1, y1 in regions:
        words[y0:y1, x0:x1] = 0
    _count, blobs, stats, _ = cv2.connectedComponentsWithStats(words, connectivity=8)
    return blobs, stats


def _add_labels(
    box: IntBox,
    leaving: list[int],
    labels: np.ndarray,
    words: tuple[np.ndarray, np.ndarray],
    reach: int,
    short: int,
) -> IntBox:
    """The box grown over label blobs within `reach` of the region's leader lines (short lines of text only)."""
    blobs, stats = words
    x0, y0, x1, y1 = max(box[0] - reach, 0), max(box[1] - reach, 0), box[2] + reach, box[3] + reach
    lines = np.isin(labels[y0:y1, x0:x1], leaving).astype(np.uint8)
    halo = cv2.dilate(lines, np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)) > 0
    for blob in np.unique(blobs[y0:y1, x0:x1][halo]):
        bx, by, bw, bh, _area = stats[blob]
        # Running text is wider than a label and a paragraph taller; either means the blob is not a label.
        if blob == 0 or bw > 0.3 * short or bh > 0.04 * short:
            continue
        box = _union(box, (int(bx), int(by), int(bx + bw), int(by + bh)))
    return box


def line_drawings(strokes: np.ndarray, text: np.ndarray, solid: Sequence[IntBox], short: int) -> list[IntBox]:
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
