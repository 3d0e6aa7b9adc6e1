"""Cross-checking the VLM's boxes against the image-analysis boxes of the same page; all boxes in PDF points.

The decisions, in order:

1. A VLM box and an analysis box at IoU >= ``match_iou`` are one figure, *confirmed*. The analysis box's edges are
   kept: they come from the full-resolution page pixels, while the VLM's are quantised to its input grid (a few
   points at 1 MP) and drift by a few percent on real models.
2. Two or more VLM boxes inside one analysis box: the analysis merged touching panels that have no gutter; the VLM's
   boxes replace it (*split*).
3. One VLM box holding two or more analysis boxes: the VLM boxed a whole multi-panel figure; the analysis panels are
   kept, as confirmed (*grouped*).
4. A remaining VLM box overlapping an analysis box is a *conflict*: the analysis box is kept, the VLM box dropped.
5. A remaining VLM box alone (*vlm_only*) is kept if it is sane: at least ``min_side`` on both sides, not most of
   the page, not labelled a table or text, and not mostly covered by OCR text lines (a text block).
6. An analysis box the VLM did not see (*analysis_only*) is kept with source "detected" unless
   ``keep_analysis_only`` is off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from remud_gen.extract.model import BBox, area, inside, intersection, iou

_NOT_FIGURE = re.compile(r"table|text|paragraph|caption|title|header|footer|表格|文字|文本|标题|页眉|页脚", re.I)
_WHOLE_PAGE = 0.9


@dataclass
class CheckCounts:
    """How the two detectors agreed, summed over pages for the stage report."""

    vlm_boxes: int = 0
    analysis_boxes: int = 0
    matched: int = 0
    split: int = 0
    grouped: int = 0
    vlm_only: int = 0
    conflict: int = 0
    rejected: int = 0
    analysis_only: int = 0
    iou_sum: float = 0.0

    def add(self, other: CheckCounts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def disagreements(self) -> int:
        """Boxes only one detector saw or placed differently."""
        return self.vlm_only + self.conflict + self.rejected + self.analysis_only


@dataclass(frozen=True)
class CheckRules:
    """The thresholds of the cross-check (from `VlmSettings` and the extract settings)."""

    match_iou: float = 0.5
    min_side: float = 23.0  # points
    max_text_cover: float = 0.5
    keep_analysis_only: bool = True


def cross_check(
    vlm: list[tuple[BBox, str]],
    analysis: list[BBox],
    text: list[BBox],
    page_size: tuple[float, float],
    rules: CheckRules,
) -> tuple[list[tuple[BBox, str]], CheckCounts]:
    """Final figure regions of one page, each with its source ("vlm" or "detected"), and the agreement counts.

    Args:
        vlm: the VLM's boxes in points, with the label it gave each.
        analysis: the image-analysis boxes in points.
        text: OCR line boxes in points (empty when OCR is off).
        page_size: (width, height) in points.
        rules: thresholds.
    """
    counts = CheckCounts(vlm_boxes=len(vlm), analysis_boxes=len(analysis))
    out: list[tuple[BBox, str]] = []
    boxes = [b for b, _ in vlm]
    vlm_left = set(range(len(vlm)))
    ana_left = set(range(len(analysis)))
    pairs = sorted(
        ((iou(boxes[i], analysis[j]), i, j) for i in vlm_left for j in ana_left), key=lambda t: t[0], reverse=True
    )
    for score, i, j in pairs:
        if score < rules.match_iou:
            break
        if i in vlm_left and j in ana_left:
            vlm_left.discard(i)
            ana_left.discard(j)
            out.append((analysis[j], "vlm"))
            counts.matched += 1
            counts.iou_sum += score
    for j in sorted(ana_left):
        parts = [i for i in vlm_left if inside(boxes[i], analysis[j])]
        if len(parts) >= 2:
            ana_left.discard(j)
            vlm_left.difference_update(parts)
            out += [(boxes[i], "vlm") for i in parts]
            counts.split += 1
    for i in sorted(vlm_left):
        held = [j for j in ana_left if inside(analysis[j], boxes[i])]
        if len(held) >= 2:
            vlm_left.discard(i)
            ana_left.difference_update(held)
            out += [(analysis[j], "vlm") for j in held]
            counts.grouped += 1
    for i in sorted(vlm_left):
        box, label = vlm[i]
        if any(intersection(box, analysis[j]) > 0.1 * min(area(box), area(analysis[j])) for j in ana_left):
            counts.conflict += 1
        elif _sane(box, label, text, page_size, rules):
            out.append((box, "vlm"))
            counts.vlm_only += 1
        else:
            counts.rejected += 1
    counts.analysis_only = len(ana_left)
    if rules.keep_analysis_only:
        out += [(analysis[j], "detected") for j in sorted(ana_left)]
    return sorted(out, key=lambda r: (r[0][1], r[0][0])), counts


def _sane(box: BBox, label: str, text: list[BBox], page_size: tuple[float, float], rules: CheckRules) -> bool:
    w, h = box[2] - box[0], box[3] - box[1]
    if min(w, h) < rules.min_side or area(box) >= _WHOLE_PAGE * page_size[0] * page_size[1]:
        return False
    if _NOT_FIGURE.search(label):
        return False
    covered = sum(intersection(t, box) for t in text if inside(t, box, 0.5))
    return covered < rules.max_text_cover * area(box)
