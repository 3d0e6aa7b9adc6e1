"""Which caption, panel letter, legend and in-image text belongs to which figure region on a page.

Geometry only, over neutral blocks and region boxes, so born-digital and OCR'd pages share it:
- text inside a region is in-image text (a lone letter inside it is its panel label);
- a lone letter just under a region, centred within its width, is its panel label;
- the caption is the nearest figure/table caption block below, above or beside the region with nothing but panel
  labels between them (journals put titles above or legends below, some beside; atlases set a title banner above
  the first panel); an atlas heading bar directly above titles it;
- a legend paragraph under the panels ("图解要点：…", "(A) …") is appended to the caption;
- regions that share one caption are the panels of one figure, and a region with no caption of its own belongs with
  the region next to it in the same text column (a stack of frames under one title, a row of a grid). Regions in
  different text columns are joined only through a caption they share: two columns of frames are two flows.
A figure whose panels run on into the next column or page is joined up later, over the whole document
(`remud_gen.extract.continuation`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from remud_gen.extract.captions import (
    caption_panels,
    is_legend,
    panel_label,
    parse_atlas_heading,
    parse_caption,
)
from remud_gen.extract.columns import Columns, page_columns
from remud_gen.extract.model import BBox, Block, gap, inside, union, x_overlap, y_overlap

_LOWER_SUB = re.compile(r"\D*\d+(?:[.\-]\d+)*[a-z](?![a-z])")  # "Fig. 6b": the sub-letter printed in lower case
_HARD_TEXT = ("body", "heading", "caption", "legend", "atlas")  # text that ends a figure when it stands between
_WHOLE = ("layout", "layout-table")  # sources whose regions are whole figures, panels and all
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


def assign_page(blocks: list[Block], regions: list[tuple[BBox, str]], page: int, page_width: float) -> list[Draft]:
    """Drafts for one page's regions, in reading order; sets block roles (figure-text, label, caption, legend)."""
    boxes = [r for r, _ in regions]
    columns = page_columns(blocks, boxes, page_width)
    labels, label_below, texts = _labels(blocks, boxes, [source in _WHOLE for _, source in regions])
    captions = [b for b in blocks if b.role in ("body", "heading") and _title_of(b) is not None]
    own = _own_captions(boxes, captions, blocks)
    drafts: list[Draft] = []
    for group, members in enumerate(_groups(boxes, own, blocks, columns)):
        hull = union([boxes[i] for i in members])
        best = next((own[i] for i in members if own[i] is not None), None)
        title = Draft(page=page, bbox=hull, source="")
        if best is not None:
            parsed = parse_caption(best.text)
            if parsed is not None and parsed.kind == "table":
                continue  # a table drawn with rules and fills, not a figure
            figure_id, sub, atlas = _title_of(best) or ("", None, False)
            title.figure_id, title.caption, title.caption_key = figure_id, best.text.strip(), id(best)
            best.role = "atlas" if atlas else "caption"
        else:
            sub = None
        _legend(title, blocks, boxes)
        opens, ends = _column_edges(hull, blocks, boxes, members, columns)
        for i in members:
            box, source = regions[i]
            d = Draft(page=page, bbox=box, source=source, panel=labels[i], in_image_text="\n".join(texts[i]))
            d.column = max(columns.of(box), 0)
            d.figure_id, d.caption, d.caption_key = title.figure_id, title.caption, title.caption_key
            d.label_below, d.group, d.opens_column, d.ends_column = label_below[i], group, opens, ends
            if sub:
                d.panel = d.panel or sub  # "Fig. 6b": figure 6, panel b
                d.lower = best is not None and bool(_LOWER_SUB.match(best.text))
                d.label_below = True
            drafts.append(d)
    return _group(drafts)


def _title_of(blk: Block) -> tuple[str, str | None, bool] | None:
    """(figure id, sub-letter, is an atlas heading) for a caption or an atlas title block, else None."""
    parsed = parse_caption(blk.text)
    if parsed is not None:
        return parsed.figure_id, parsed.sub, False
    atlas = parse_atlas_heading(blk.text)
    return (atlas[0], None, True) if atlas else None


def _labels(
    blocks: list[Block], boxes: list[BBox], whole: list[bool]
) -> tuple[list[str | None], list[bool], list[list[str]]]:
    """Per region: its panel letter, whether that letter is printed under it, and the text printed inside it.

    A `whole` region (a layout block: a figure with all its panels) has no letter of its own: the letters inside it
    or under it name its panels, which are cut from it later.
    """
    texts: list[list[str]] = [[] for _ in boxes]
    labels: list[str | None] = [None] * len(boxes)
    below = [False] * len(boxes)
    for blk in blocks:
        if blk.role == "margin":
            continue
        letter = panel_label(blk.text)
        for i, box in enumerate(boxes):
            if inside(blk.bbox, box, 0.6):
                if letter and labels[i] is None and not whole[i]:
                    labels[i] = letter
                    blk.role = "label"
                elif not parse_caption(blk.text):
                    texts[i].append(blk.text)
                    blk.role = "figure-text"
                break
        else:
            owner = _label_owner(blk.bbox, boxes) if letter else None
            if owner is not None and labels[owner] is None and not whole[owner]:
                labels[owner], below[owner] = letter, True
                blk.role = "label"
    return labels, below, texts


def _label_owner(letter: BBox, boxes: list[BBox]) -> int | None:
    """The region a letter is printed under: the nearest one above it, the letter centred within its width."""
    cx = (letter[0] + letter[2]) / 2
    under = [i for i, b in enumerate(boxes) if b[0] <= cx <= b[2] and 0 <= letter[1] - b[3] <= 25]
    return min(under, key=lambda i: letter[1] - boxes[i][3], default=None)


def _blocked(a: BBox, b: BBox, blocks: list[Block], boxes: list[BBox]) -> bool:
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


def _caption_score(region: BBox, blk: Block) -> tuple[float, str] | None:
    """How well a caption block fits a region (lower is better) and where it sits: below, above or beside."""
    b = blk.bbox
    # A found box may run a little into its caption's first line (a scan's figure box is never exact).
    slack = max(3.0, 0.6 * (blk.lines[0].bbox[3] - blk.lines[0].bbox[1]))
    if b[1] >= region[3] - slack and x_overlap(region, b) >= 0.3 and b[1] - region[3] <= 90:
        return max(0.0, b[1] - region[3]), "below"
    if b[3] <= region[1] + slack and x_overlap(region, b) >= 0.3 and region[1] - b[3] <= 60:
        return max(0.0, region[1] - b[3]) * 1.5 + 6, "above"
    if y_overlap(region, b) >= 0.3 and gap(region, b) <= 40:
        return gap(region, b) * 2 + 20, "beside"
    return None


def _own_captions(boxes: list[BBox], captions: list[Block], blocks: list[Block]) -> list[Block | None]:
    """Each region's caption. A caption set beside a region counts only when no region has it above or below:
    the title banner of the next column's figure is level with this column's frames, not theirs. An atlas
    heading counts only directly above a region."""
    fits: list[list[tuple[float, str, Block]]] = []
    for box in boxes:
        found = []
        for c in captions:
            fit = _caption_score(box, c)
            if fit is None or (fit[1] != "above" and parse_caption(c.text) is None):
                continue
            if not _blocked(box, c.bbox, blocks, boxes):
                found.append((fit[0], fit[1], c))
        fits.append(found)
    stacked = {id(c) for found in fits for _, where, c in found if where != "beside"}
    out: list[Block | None] = []
    for found in fits:
        usable = [f for f in found if f[1] != "beside" or id(f[2]) not in stacked]
        out.append(min(usable, key=lambda f: f[0])[2] if usable else None)
    return out


def _groups(boxes: list[BBox], own: list[Block | None], blocks: list[Block], columns: Columns) -> list[list[int]]:
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
            if reach and gap(boxes[i], boxes[j]) <= reach and not _blocked(boxes[i], boxes[j], blocks, boxes):
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


def _column_edges(
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


def _legend(d: Draft, blocks: list[Block], boxes: list[BBox]) -> None:
    for b in blocks:
        if b.role not in ("body", "legend") or not (is_legend(b.text) or _starts_with_panel(b.text)):
            continue
        if 0 <= b.bbox[1] - d.bbox[3] <= 60 and x_overlap(b.bbox, d.bbox) > 0.2:
            if any(o[1] >= d.bbox[3] - 1 and o[3] <= b.bbox[1] and x_overlap(o, b.bbox) > 0.3 for o in boxes):
                continue
            b.role = "legend"
            d.caption = f"{d.caption}\n{b.text}".strip()
            return


def _starts_with_panel(text: str) -> bool:
    t = text.lstrip()
    return bool(caption_panels(t[:8])) and (t[:1] in "(（" or t[1:2] == "图")


def _group(drafts: list[Draft]) -> list[Draft]:
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
