"""Where the pictures are on a born-digital page: embedded rasters and vector drawings, clustered into regions.

Rasters come from `get_image_info`, which reports every placement (inline images and images inside Form XObjects
included) with its box on the page, pixel size and stored size (used to spot logos repeated across pages). Vector paths
come from `get_drawings`; rules, page frames, white boxes, text banners and frames around a whole figure and its
caption are ignored so they neither become figures nor glue separate figures together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pymupdf

from remud_gen.extract.captions import parse_caption
from remud_gen.extract.model import BBox, Block, Graphic, area, intersection, union


@dataclass
class Region:
    """A cluster of graphics that may be a figure (or part of one)."""

    bbox: BBox
    parts: list[Graphic] = field(default_factory=list)

    @property
    def rasters(self) -> list[Graphic]:
        return [g for g in self.parts if g.kind == "raster"]


def page_rasters(page: pymupdf.Page) -> list[Graphic]:
    """Every raster placement on the page, clipped to the page."""
    out: list[Graphic] = []
    pr = page.rect
    for info in page.get_image_info():
        r = pymupdf.Rect(info["bbox"]) & pr
        if r.is_empty:
            continue
        out.append(
            Graphic(
                bbox=(r.x0, r.y0, r.x1, r.y1),
                kind="raster",
                digest=_identity(info, r),
                pixels=(int(info.get("width", 0)), int(info.get("height", 0))),
            )
        )
    return out


def _identity(info: dict[str, Any], placed: pymupdf.Rect) -> str:
    """A cheap stand-in for a content hash, enough to spot one logo repeated across pages.

    Content hashes and xrefs (`get_image_info(xrefs=True)`) decode every image, twice: that was half the cost of
    reading an atlas page. The pixel size plus the stored (compressed) size tells repeated logos apart from figures
    just as well; images MuPDF keeps decoded report no stored size, and the placed size stands in.
    """
    size = f"{info.get('width', 0)}x{info.get('height', 0)}"
    stored = int(info.get("size") or 0)
    if stored > 0:
        return f"{size}:{stored}"
    return f"{size}:placed:{round(placed.width)}x{round(placed.height)}"


def page_vectors(page: pymupdf.Page, blocks: list[Block]) -> list[Graphic]:
    """Vector paths that can belong to a figure (see the module docstring for what is ignored)."""
    pr = page.rect
    pw, ph = pr.width, pr.height
    texts = _boxes([b.bbox for b in blocks])
    framed = _boxes([b.bbox for b in blocks if parse_caption(b.text) or (len(b.lines) >= 3 and len(b.text) > 150)])
    out: list[Graphic] = []
    for d in page.get_drawings():
        r = pymupdf.Rect(d["rect"]) & pr
        if r.is_empty and (r.width < 0.5 and r.height < 0.5):
            continue
        box = (r.x0, r.y0, r.x1, r.y1)
        w, h = r.width, r.height
        if w * h >= 0.6 * pw * ph:
            continue  # page frame or page background
        if (h < 2.5 and w > 0.25 * pw) or (w < 2.5 and h > 0.4 * ph):
            continue  # rules: table lines, column separators, header underlines
        if _invisible(d):
            continue
        if w * h < 40:
            out.append(Graphic(bbox=box, kind="vector"))
            continue
        if h < 40 and _holds(texts, box):
            continue  # a coloured banner or table cell behind text
        if _holds(framed, box):
            continue  # a frame around a figure and its caption, or a text box
        out.append(Graphic(bbox=box, kind="vector"))
    return out


def _boxes(boxes: list[BBox]) -> np.ndarray:
    return np.array(boxes, dtype=np.float64).reshape(-1, 4)


def _holds(boxes: np.ndarray, box: BBox) -> bool:
    """True when `box` contains at least 90% of any of `boxes` (vectorised: pages can have thousands of paths)."""
    if not len(boxes):
        return False
    ix = np.clip(np.minimum(boxes[:, 2], box[2]) - np.maximum(boxes[:, 0], box[0]), 0, None)
    iy = np.clip(np.minimum(boxes[:, 3], box[3]) - np.maximum(boxes[:, 1], box[1]), 0, None)
    own = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return bool(np.any((own > 0) & (ix * iy >= 0.9 * own)))


def _invisible(d: dict) -> bool:
    fill = d.get("fill")
    stroke = d.get("color")
    white = fill is not None and all(c > 0.97 for c in fill)
    return ((fill is None or white) and (stroke is None or d.get("width", 1) == 0)) or (white and stroke is None)


def cluster(graphics: list[Graphic], tol: float = 3.0) -> list[Region]:
    """Union graphics into regions: anything within `tol` points of a vector path, and rasters that touch.

    Separate pictures a few points apart stay separate regions (they are panels); tiles of one picture touch.
    """
    n = len(graphics)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    boxes = _boxes([g.bbox for g in graphics])
    raster = np.array([g.kind == "raster" for g in graphics], dtype=bool)
    for i in range(n):
        # Vectorised distance from graphic i to all later ones: pages can carry thousands of paths.
        rest = boxes[i + 1 :]
        dx = np.maximum(0, np.maximum(rest[:, 0], boxes[i, 0]) - np.minimum(rest[:, 2], boxes[i, 2]))
        dy = np.maximum(0, np.maximum(rest[:, 1], boxes[i, 1]) - np.minimum(rest[:, 3], boxes[i, 3]))
        both = raster[i] & raster[i + 1 :]
        near = np.maximum(dx, dy) <= np.where(both, 1.5, tol)
        for k in np.nonzero(near)[0]:
            j = i + 1 + int(k)
            if not both[k] or _tiles(graphics[i].bbox, graphics[j].bbox):
                parent[find(i)] = find(j)
    groups: dict[int, list[Graphic]] = {}
    for i, g in enumerate(graphics):
        groups.setdefault(find(i), []).append(g)
    return [Region(bbox=union([g.bbox for g in gs]), parts=gs) for gs in groups.values()]


def _tiles(a: BBox, b: BBox) -> bool:
    # Touching rasters are tiles of one picture when they share an edge over most of its length (or overlap).
    if intersection(a, b) > 0:
        return True
    h_share = min(a[3], b[3]) - max(a[1], b[1])
    w_share = min(a[2], b[2]) - max(a[0], b[0])
    return h_share > 0.8 * min(a[3] - a[1], b[3] - b[1]) or w_share > 0.8 * min(a[2] - a[0], b[2] - b[0])


def figure_regions(
    rasters: list[Graphic],
    vectors: list[Graphic],
    page_rect: BBox,
    *,
    logos: set[str],
    min_side: float,
    min_area: float,
    background_fraction: float,
) -> list[Region]:
    """Regions large enough to be figures, with logos and page backgrounds removed.

    `min_side` is in points; `min_area` a fraction of the page. A region needs a sizeable raster, or enough vector
    paths over a sizeable area to be a drawing rather than a rule or a box.
    """
    page_area = area(page_rect)
    keep = [
        g
        for g in rasters
        if g.digest not in logos and area(g.bbox) < background_fraction * page_area and min(g.pixels) >= 4
    ]
    regions = []
    for reg in cluster(keep + vectors):
        x0, y0, x1, y1 = reg.bbox
        if not figure_sized(reg.bbox, min_side, min_area * page_area):
            continue
        big_raster = any(min(g.bbox[2] - g.bbox[0], g.bbox[3] - g.bbox[1]) >= min_side for g in reg.rasters)
        n_vec = len(reg.parts) - len(reg.rasters)
        if not big_raster and (n_vec < 4 or min(x1 - x0, y1 - y0) < 2 * min_side):
            continue
        regions.append(reg)
    return regions


def figure_sized(bbox: BBox, min_side: float, min_area: float) -> bool:
    """Whether a box is a figure's size, not an icon, logo or stamp: both sides >= `min_side`, area >= `min_area`."""
    x0, y0, x1, y1 = bbox
    return min(x1 - x0, y1 - y0) >= min_side and area(bbox) >= min_area


def is_background(g: Graphic, page_rect: BBox, fraction: float) -> bool:
    """True when a raster covers (nearly) the whole page."""
    return area(g.bbox) >= fraction * area(page_rect)
