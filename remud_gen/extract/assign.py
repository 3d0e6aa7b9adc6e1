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

from remud_gen.extract.captions import (
    caption_panels,
    is_legend,
    panel_label,
    parse_atlas_heading,
    parse_caption,
)
from remud_gen.extract.columns import page_columns
from remud_gen.extract.grouping import Draft, blocked, by_figure, column_edges, figure_groups
from remud_gen.extract.model import BBox, Block, gap, inside, union, x_overlap, y_overlap

_LOWER_SUB = re.compile(r"\D*\d+(?:[.\-]\d+)*[a-z](?![a-z])")  # "Fig. 6b": the sub-letter printed in lower case
_WHOLE = ("layout", "layout-table")  # sources whose regions are whole figures, panels and all


def assign_page(blocks: list[Block], regions: list[tuple[BBox, str]], page: int, page_width: float) -> list[Draft]:
    """Drafts for one page's regions, in reading order; sets block roles (figure-text, label, caption, legend)."""
    boxes = [r for r, _ in regions]
    columns = page_columns(blocks, boxes, page_width)
    labels, label_below, texts = _labels(blocks, boxes, [source in _WHOLE for _, source in regions])
    captions = [b for b in blocks if b.role in ("body", "heading") and _title_of(b) is not None]
    own = _own_captions(boxes, captions, blocks)
    drafts: list[Draft] = []
    for group, members in enumerate(figure_groups(boxes, own, blocks, columns)):
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
        opens, ends = column_edges(hull, blocks, boxes, members, columns)
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
    return by_figure(drafts)


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
            if not blocked(box, c.bbox, blocks, boxes):
                found.append((fit[0], fit[1], c))
        fits.append(found)
    stacked = {id(c) for found in fits for _, where, c in found if where != "beside"}
    out: list[Block | None] = []
    for found in fits:
        usable = [f for f in found if f[1] != "beside" or id(f[2]) not in stacked]
        out.append(min(usable, key=lambda f: f[0])[2] if usable else None)
    return out


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
