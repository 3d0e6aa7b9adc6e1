"""Which figure regions of a page are one figure, and the order a reader meets them in.

Regions that share a caption are the panels of one figure; a region with no caption of its own joins the nearest
region in its text column unless text stands between them (`blocked`). Each group is then kept as panels, or made one
figure when nothing names or letters panels (born-digital pieces of one picture). `assign` decides the captions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from remud_gen.extract.captions import caption_panels
from remud_gen.extract.columns import Columns
from remud_gen.extract.model import BBox, Block, gap, union, x_overlap, y_overlap

_HARD_TEXT = ("body", "heading", "caption", "legend", "atlas")  # text that ends a figure when it stands between
_RUNNING = 30  # characters: a single line this long is running text
_NEAR = 60.0  # points: frames of one figure are at most this far apart (a letter gutter, a grid's gap)


@dataclass
class Draft:
    """A figure panel before rendering: where it is and what text goes with it."""

    page: int
    bbox: BBox
    source: str
    figure_id: str | None = None
    caption: str = ""
    panel: str | None = None
    panel_caption: str = ""
    in_image_text: str = ""
    named_panels: list[str] = field(default_factory=list)
    section: list[str] = field(default_factory=list)
    context: list[str] = field(default_factory=list)
    column: int = 0
    lower: bool = False  # the panel letter is printed in lower case
    label_below: bool = False  # the panel letter is printed under the picture (trusted even without a legend)
    split: bool = False  # one region whose caption names several panels: try a gutter split on the pixels
    caption_key: int | None = None
    group: int = 0  # drafts of one page with the same group share a caption (or joined without one)
    opens_column: bool = False  # no text above its group in its column: it may continue the figure before it
    ends_column: bool = False  # nothing but labels below its group in its column: the figure may run on


def blocked(a: BBox, b: BBox, blocks: list[Block], boxes: list[BBox]) -> bool:
    """True when running text, another caption or another region stands in the gap between boxes a and b."""
    if a[3] <= b[1] or b[3] <= a[1]:  # one above the other: the band between them, over their shared width
        top, bottom = (a, b) if a[1] < b[1] else (b, a)
        zone = (max(a[0], b[0]) if x_overlap(a, b) > 0 else min(a[0], b[0]), top[3], max(a[2], b[2]), bottom[1])
    else:  # side by side
        left, right = (a, b) if a[0] < b[0] else (b, a)
        zone = (left[2], max(a[1], b[1]), right[0], min(a[3], b[3]))
    if zone[2] <= zone[0] or zone[3] <= zone[1]:
        return False
    hard = [blk.bbox for blk in blocks if _hard(blk) and blk.bbox not in (a, b)]
    return any(_crosses(o, zone) for o in hard + [o for o in boxes if o not in (a, b)])


def _hard(blk: Block) -> bool:
    """Text that ends a figure where it stands: a caption, legend or heading, or running text (a paragraph, a long
    line). A short line is not: an axis title or a label that spills out of its figure's box on a scan."""
    if blk.role not in _HARD_TEXT:
        return False
    return blk.role != "body" or blk.line_count >= 2 or len(blk.text) >= _RUNNING


def _crosses(o: BBox, zone: BBox) -> bool:
    cx, cy = (o[0] + o[2]) / 2, (o[1] + o[3]) / 2
    return zone[0] <= cx <= zone[2] and zone[1] <= cy <= zone[3]


def figure_groups(boxes: list[BBox], own: list[Block | None], blocks: list[Block], columns: Columns) -> list[list[int]]:
    """Regions sharing a caption, joined with captionless neighbours in their text column (nearest first), never
    into a group that has another caption."""
    n = len(boxes)
    parent = list(range(n))
    caption: dict[int, int | None] = {i: id(own[i]) if own[i] is not None else None for i in range(n)}

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        a, b = find(i), find(j)
        if a != b and (caption[a] is None or caption[b] is None or caption[a] == caption[b]):
            parent[a] = b
            caption[b] = caption[b] if caption[b] is not None else caption[a]

    for i in range(n):
        for j in range(i + 1, n):
            if own[i] is not None and own[i] is own[j]:
                join(i, j)
    pairs = []
    for i in range(n):
        for j in range(i + 1, n):
            if own[i] is not None and own[j] is not None:
                continue
            reach = _reach(boxes[i], boxes[j], columns)
            if reach and gap(boxes[i], boxes[j]) <= reach and not blocked(boxes[i], boxes[j], blocks, boxes):
                pairs.append((gap(boxes[i], boxes[j]), i, j))
    for _, i, j in sorted(pairs):
        join(i, j)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def _reach(a: BBox, b: BBox, columns: Columns) -> float:
    """How far apart two frames of one figure may be; 0 when they cannot belong together without a caption."""
    ca, cb = columns.of(a), columns.of(b)
    stacked = x_overlap(a, b) >= 0.5 and (a[3] <= b[1] + 3 or b[3] <= a[1] + 3)
    if stacked and (ca == cb or ca < 0 or cb < 0):
        return _NEAR
    if ca != cb or y_overlap(a, b) < 0.5:
        return 0.0
    row = abs(a[1] - b[1]) < 3 and abs(a[3] - b[3]) < 3
    # Small frames of one row are spread over the text width: as far apart as a frame is wide.
    return max(_NEAR, min(a[2] - a[0], b[2] - b[0])) if row else 30.0


def column_edges(
    hull: BBox, blocks: list[Block], boxes: list[BBox], members: list[int], columns: Columns
) -> tuple[bool, bool]:
    """Whether a group opens its text column (no text or frame above it there) and ends it (nothing below it but
    labels): only such groups may carry a figure on from, or into, another column."""
    col = columns.of(hull)
    others = [b.bbox for b in blocks if _hard(b)]
    others += [box for i, box in enumerate(boxes) if i not in members]
    mine = [o for o in others if columns.of(o) == col or x_overlap(o, hull) >= 0.5]
    opens = not any(o[3] <= hull[1] + 3 for o in mine)
    ends = not any(o[1] >= hull[3] - 3 for o in mine)
    return opens, ends


def by_figure(drafts: list[Draft]) -> list[Draft]:
    """Per group: the panels of one figure, or one draft over all of them when nothing names or letters panels."""
    groups: dict[int, list[Draft]] = {}
    for d in drafts:
        groups.setdefault(d.group, []).append(d)
    out: list[Draft] = []
    for group in groups.values():
        named = caption_panels(group[0].caption)
        for d in group:
            d.named_panels = named
        if len(group) == 1:
            d = group[0]
            if not named and not d.label_below and d.figure_id:
                d.panel = None  # a stray letter inside a figure whose caption names no panels
            d.split = len(named) >= 2 and d.panel is None and d.source != "detected"
            out.append(d)
            continue
        # Born-digital pieces of one picture, or frames of a scan under a caption that names no panels and with no
        # letter printed: one figure. Frames with no caption of their own may be panels of a figure that began
        # in the previous column, so they stay apart.
        drawn = all(d.source in ("embedded", "vector") for d in group)
        pieces = (drawn or group[0].figure_id is not None) and not named and not any(d.panel for d in group)
        if pieces:
            first = group[0]
            first.bbox = union([d.bbox for d in group])
            first.in_image_text = "\n".join(d.in_image_text for d in group if d.in_image_text)
            first.panel = None
            out.append(first)
        else:
            out += group
    return _in_rows(out)


def _in_rows(drafts: list[Draft]) -> list[Draft]:
    """Column by column; in a column, row by row (frames that overlap vertically share a row), left to right."""
    ordered: list[Draft] = []
    for column in sorted({d.column for d in drafts}):
        rows: list[list[Draft]] = []
        for d in sorted((d for d in drafts if d.column == column), key=lambda d: d.bbox[1]):
            if rows and y_overlap(rows[-1][0].bbox, d.bbox) >= 0.5:
                rows[-1].append(d)
            else:
                rows.append([d])
        ordered += [d for row in rows for d in sorted(row, key=lambda d: d.bbox[0])]
    return ordered
