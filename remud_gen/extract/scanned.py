"""Scanned pages: OCR text in reading order and figure regions, from one rendered page image.

The page is analysed at a bounded resolution (`OCR_MAX_SIDE`) and every box is mapped back to the caller's
pixels. Reading order is a recursive XY-cut over the OCR lines and figure regions: a vertical gutter splits a block
into columns (read left to right) and a wide horizontal gap splits it into bands (read top to bottom). Columns are
preferred, so two columns whose line grids happen to align are not read row by row; a few items that cross an
otherwise clean gutter (a title spanning both columns) cut the block into bands around themselves first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import median

import cv2
import numpy as np

from remud_gen.errors import InputError
from remud_gen.extract.deskew import skew_angle, straighten, tilt_box
from remud_gen.extract.layoutmodel import layout_blocks
from remud_gen.extract.letters import missing_letters, split_by_letters
from remud_gen.extract.ocr import OCR_MAX_SIDE, OcrLine, join_row, recognise
from remud_gen.extract.regions import find_figures, with_layout

__all__ = ["OcrLine", "ScannedPage", "analyse_page", "reading_order"]

Box = tuple[float, float, float, float]
_MAX_DEPTH = 200
MIN_SIDE = 32  # pixels
MAX_ASPECT = 20


@dataclass(frozen=True)
class ScannedPage:
    """What image analysis found on one page.

    Attributes:
        lines: OCR lines in reading order; lines printed inside a figure follow each other where the figure sits.
        figures: pixel boxes (x0, y0, x1, y1) of figure regions, top to bottom.
        sources: what found each figure: image analysis ("detected") or the layout model ("layout", and
            "layout-table" for a block it took for a table).
    """

    lines: list[OcrLine]
    figures: list[tuple[int, int, int, int]]
    sources: list[str] = field(default_factory=list)  # per figure: "detected", "layout" or "layout-table"


@dataclass(frozen=True)
class _Item:
    """A unit of reading order: one text line, or a figure with the lines printed inside it."""

    box: Box
    lines: tuple[OcrLine, ...]
    figure: bool = False


def analyse_page(image: np.ndarray, *, ocr: bool = True, text: Sequence[OcrLine] = ()) -> ScannedPage:
    """OCR a page image and find its figure regions (on the page straightened when it was scanned crooked).

    Args:
        image: (H, W, 3) uint8 RGB render of the whole page (grey (H, W) and RGBA are accepted too).
        ocr: run OCR; without it `lines` holds only `text` and figures are found from the pixels and `text`.
        text: lines already known (a scanned page's text layer), in `image`'s pixels, used when `ocr` is off.

    Returns:
        The page's lines in reading order and its figure boxes, both in `image`'s pixel coordinates.

    Raises:
        InputError: the array is not a page image, or OCR is requested but RapidOCR is not installed.
    """
    rgb = _as_rgb(image)
    scale = min(1.0, OCR_MAX_SIDE / max(rgb.shape[:2]))
    work = rgb
    if scale < 1.0:
        size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
        work = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    # A crooked scan is straightened first: gutters are clean rows again, text lines level for OCR.
    # Known text lines sit on the page as it is, so a page that has them is not turned.
    angle = 0.0 if text else skew_angle(cv2.cvtColor(work, cv2.COLOR_RGB2GRAY))
    if angle:
        work = straighten(work, angle)
    fragments = recognise(work) if ocr else [_scaled(line, scale) for line in text]
    figures = find_figures(work, [f.box for f in fragments])
    if ocr:
        # Page detection drops some lone panel letters; a crop under each frame reads them, and letters set
        # evenly under one region say where abutting frames meet.
        fragments += missing_letters(work, figures, fragments)
        figures = split_by_letters(figures, fragments)
    regions = with_layout(work, figures, layout_blocks(work), fragments)
    lines = reading_order(fragments, [box for box, _ in regions])
    height, width = rgb.shape[:2]
    size = (work.shape[1], work.shape[0])
    return ScannedPage(
        lines=[_rescale(line, scale, angle, size) for line in lines],
        figures=[_rescale_box(tilt_box(box, angle, size), scale, width, height) for box, _ in regions],
        sources=[source for _, source in regions],
    )


def _as_rgb(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise InputError(f"page image must be a uint8 numpy array, got {getattr(image, 'dtype', type(image))}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise InputError(f"page image must be (H, W, 3) RGB, got shape {image.shape}")
    short, long = sorted(image.shape[:2])
    # OCR scales the short side up to ~736 px: a sliver would become a gigapixel image.
    if short < MIN_SIDE or long > MAX_ASPECT * short:
        raise InputError(
            f"page image of {image.shape[1]}x{image.shape[0]} px is not a page "
            f"(sides of at least {MIN_SIDE} px and at most {MAX_ASPECT}:1 needed)"
        )
    return np.ascontiguousarray(image[:, :, :3])


def _scaled(line: OcrLine, scale: float) -> OcrLine:
    """A line of the caller's image on the analysed copy."""
    x0, y0, x1, y1 = line.box
    return OcrLine(text=line.text, box=(x0 * scale, y0 * scale, x1 * scale, y1 * scale), score=line.score)


def _rescale(line: OcrLine, scale: float, angle: float, size: tuple[int, int]) -> OcrLine:
    x0, y0, x1, y1 = tilt_box(line.box, angle, size)
    return OcrLine(text=line.text, box=(x0 / scale, y0 / scale, x1 / scale, y1 / scale), score=line.score)


def _rescale_box(
    box: tuple[float, float, float, float], scale: float, width: int, height: int
) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    return (
        max(0, int(x0 / scale)),
        max(0, int(y0 / scale)),
        min(width, round(x1 / scale)),
        min(height, round(y1 / scale)),
    )


def reading_order(fragments: Sequence[OcrLine], figures: Sequence[tuple[int, int, int, int]] = ()) -> list[OcrLine]:
    """Put OCR fragments in reading order, joining fragments of one line.

    Args:
        fragments: OCR output in any order.
        figures: figure boxes in the same coordinates; text inside a figure is kept together, in rows, at the
            figure's place in the order, and a figure that juts into a gutter does not hide the columns.

    Returns:
        The lines, column by column, top to bottom within a column.
    """
    return [line for item in _order(_items(fragments, figures)) for line in _item_lines(item)]


def _items(fragments: Sequence[OcrLine], figures: Sequence[tuple[int, int, int, int]]) -> list[_Item]:
    inside: dict[int, list[OcrLine]] = {i: [] for i in range(len(figures))}
    items: list[_Item] = []
    for frag in fragments:
        cx, cy = (frag.box[0] + frag.box[2]) / 2, (frag.box[1] + frag.box[3]) / 2
        owner = next((i for i, f in enumerate(figures) if f[0] <= cx < f[2] and f[1] <= cy < f[3]), None)
        if owner is None:
            items.append(_Item(box=frag.box, lines=(frag,)))
        else:
            inside[owner].append(frag)
    items += [
        _Item(box=(float(f[0]), float(f[1]), float(f[2]), float(f[3])), lines=tuple(inside[i]), figure=True)
        for i, f in enumerate(figures)
    ]
    return items


def _item_lines(item: _Item) -> list[OcrLine]:
    return _rows(list(item.lines)) if item.figure else list(item.lines)


def _rows(lines: list[OcrLine]) -> list[OcrLine]:
    """Lines of one column, top to bottom, with fragments of the same row joined."""
    ordered: list[OcrLine] = []
    row: list[OcrLine] = []
    for line in sorted(lines, key=lambda f: (f.box[1] + f.box[3]) / 2):
        if row and all(_same_row(member.box, line.box) for member in row):
            row.append(line)
            continue
        ordered += join_row(row)
        row = [line]
    return ordered + join_row(row)


def _same_row(a: Box, b: Box) -> bool:
    overlap = min(a[3], b[3]) - max(a[1], b[1])
    return overlap >= 0.5 * min(a[3] - a[1], b[3] - b[1])


def _order(items: list[_Item], depth: int = 0) -> list[_Item]:
    """Recursive XY-cut; see the module docstring."""
    text = [i for i in items if not i.figure]
    if len(items) <= 1 or not text:
        return sorted(items, key=lambda i: (i.box[1], i.box[0]))
    line_height = median(i.box[3] - i.box[1] for i in text)
    # Real layouts nest a few levels deep; the bound keeps a pathological page off the recursion limit.
    for split in (_column_split, _band_split) if depth < _MAX_DEPTH else ():
        parts = split(items, line_height)
        if len(parts) > 1:
            return [item for part in parts for item in _order(part, depth + 1)]
    figures = sorted((i for i in items if i.figure), key=lambda i: i.box[1])
    leaf: list[_Item] = []
    for line in _rows([line for i in text for line in i.lines]):
        while figures and figures[0].box[1] < (line.box[1] + line.box[3]) / 2:
            leaf.append(figures.pop(0))
        leaf.append(_Item(box=line.box, lines=(line,)))
    return leaf + figures


def _column_split(items: list[_Item], line_height: float) -> list[list[_Item]]:
    """Columns left to right at a clean gutter; items alone in their row that cross it cut bands first."""
    lonely = _alone(items)
    alone = [i for i, flag in zip(items, lonely, strict=True) if flag]
    # Figures may jut into a gutter (text wraps around them): they go to the side holding their centre.
    narrow = [i for i, flag in zip(items, lonely, strict=True) if not flag and not i.figure]
    if len(narrow) < 2:
        return []
    x_min = int(min(i.box[0] for i in narrow))
    span = int(max(i.box[2] for i in narrow)) - x_min + 1
    cover = np.zeros(span + 1, dtype=np.int32)
    for i in narrow:
        cover[int(i.box[0]) - x_min] += 1
        cover[int(i.box[2]) - x_min] -= 1
    free = np.cumsum(cover)[:span] == 0
    gaps = [(a + x_min, b + x_min) for a, b in _gaps(free, max(0.5 * line_height, 4.0)) if a > 0 and b < span]
    valid = [g for g in gaps if _both_sides_hold_text(narrow, g, line_height)]
    if not valid:
        return []
    start, end = max(valid, key=lambda g: g[1] - g[0])
    crossing = [i for i in alone if i.box[0] < end and i.box[2] > start]
    if not crossing:
        cut = (start + end) / 2
        return [[i for i in items if _centre_x(i) < cut], [i for i in items if _centre_x(i) >= cut]]
    bands = _bucket(items, sorted({y for i in crossing for y in (i.box[1], i.box[3])}))
    return bands if all(len(b) < len(items) for b in bands) else []


def _alone(items: list[_Item]) -> np.ndarray:
    """For each item, whether no other item shares its row (the `_same_row` test, vectorised in blocks)."""
    boxes = np.array([i.box for i in items], dtype=np.float64)
    top, bottom = boxes[:, 1], boxes[:, 3]
    height = bottom - top
    lonely = np.ones(len(items), dtype=bool)
    for start in range(0, len(items), 256):
        rows = slice(start, start + 256)
        overlap = np.minimum(bottom[rows, None], bottom[None, :]) - np.maximum(top[rows, None], top[None, :])
        same = overlap >= 0.5 * np.minimum(height[rows, None], height[None, :])
        same[np.arange(same.shape[0]), np.arange(start, start + same.shape[0])] = False
        lonely[rows] = ~same.any(axis=1)
    return lonely


def _centre_x(item: _Item) -> float:
    return (item.box[0] + item.box[2]) / 2


def _gaps(free: np.ndarray, min_width: float) -> list[tuple[int, int]]:
    padded = np.concatenate(([False], free, [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a >= min_width]


def _both_sides_hold_text(items: list[_Item], gap: tuple[int, int], line_height: float) -> bool:
    """A column holds two items or is tall; a lone side note in the margin does not make a column."""
    cut = (gap[0] + gap[1]) / 2
    for side in ([i for i in items if i.box[2] <= cut], [i for i in items if i.box[0] >= cut]):
        tall = sum(i.box[3] - i.box[1] for i in side) >= 3 * line_height
        if len(side) < 2 and not tall:
            return False
    return True


def _band_split(items: list[_Item], line_height: float) -> list[list[_Item]]:
    """Bands top to bottom at horizontal gaps wider than a line, so paragraphs of one column are not cut."""
    ordered = sorted(items, key=lambda i: i.box[1])
    cuts: list[float] = []
    bottom = ordered[0].box[3]
    for item in ordered[1:]:
        if item.box[1] - bottom >= line_height:
            cuts.append((bottom + item.box[1]) / 2)
        bottom = max(bottom, item.box[3])
    return _bucket(items, cuts) if cuts else []


def _bucket(items: list[_Item], cuts: list[float]) -> list[list[_Item]]:
    """Items grouped by the band between consecutive y cuts that holds their centre, top to bottom."""
    bands: list[list[_Item]] = [[] for _ in range(len(cuts) + 1)]
    for item in items:
        centre = (item.box[1] + item.box[3]) / 2
        bands[sum(1 for c in cuts if c <= centre)].append(item)
    return [b for b in bands if b]
