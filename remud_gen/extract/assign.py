"""Which caption, panel letter, legend and in-image text belongs to which figure region on a page.

Geometry only, over neutral blocks and region boxes, so born-digital and OCR'd pages share it:
- text inside a region is in-image text (a lone letter inside it is its panel label);
- a lone letter just under a region is its panel label;
- the caption is the nearest figure/table caption block below, above or beside the region, not across another
  region (journals put titles above or legends below, some beside); an atlas heading bar directly above titles it;
- a legend paragraph under the panels ("图解要点：…", "(A) …") is appended to the caption;
- regions that share one caption are the panels of one figure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from remud_gen.extract.captions import (
    caption_panels,
    is_legend,
    lowercase_panels,
    panel_label,
    panel_sentences,
    parse_atlas_heading,
    parse_caption,
)
from remud_gen.extract.model import BBox, Block, gap, inside, union, x_overlap, y_overlap


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


def _between(a: BBox, b: BBox, others: list[BBox]) -> bool:
    """True when another region lies in the vertical gap between boxes a and b."""
    top, bottom = (a, b) if a[1] < b[1] else (b, a)
    zone = (min(a[0], b[0]), top[3], max(a[2], b[2]), bottom[1])
    return any(zone[1] < o[1] < zone[3] and x_overlap(o, zone) > 0.3 for o in others)


def _caption_score(region: BBox, blk: Block, others: list[BBox]) -> float | None:
    b = blk.bbox
    if b[1] >= region[3] - 3 and x_overlap(region, b) >= 0.3 and b[1] - region[3] <= 90:
        score = b[1] - region[3]
    elif b[3] <= region[1] + 3 and x_overlap(region, b) >= 0.3 and region[1] - b[3] <= 60:
        score = (region[1] - b[3]) * 1.5 + 6
    elif y_overlap(region, b) >= 0.3 and gap(region, b) <= 40:
        score = gap(region, b) * 2 + 20
    else:
        return None
    return None if _between(region, b, others) else score


def assign_page(blocks: list[Block], regions: list[tuple[BBox, str]], page: int, page_width: float) -> list[Draft]:
    """Drafts for one page's regions, in reading order; sets block roles (figure-text, label, caption, legend)."""
    boxes = [r for r, _ in regions]
    texts: list[list[str]] = [[] for _ in regions]
    labels: list[str | None] = [None] * len(regions)
    label_below = [False] * len(regions)
    for blk in blocks:
        if blk.role == "margin":
            continue
        for i, box in enumerate(boxes):
            letter = panel_label(blk.text)
            if inside(blk.bbox, box, 0.6):
                if letter and labels[i] is None:
                    labels[i] = letter
                    blk.role = "label"
                elif not parse_caption(blk.text):
                    texts[i].append(blk.text)
                    blk.role = "figure-text"
                break
            if letter and 0 <= blk.bbox[1] - box[3] <= 25 and x_overlap(blk.bbox, box) > 0.5 and labels[i] is None:
                labels[i] = letter
                label_below[i] = True
                blk.role = "label"
                break
    captions = [b for b in blocks if b.role in ("body", "heading") and parse_caption(b.text)]
    drafts: list[Draft] = []
    own = [_best_caption(box, captions, [o for o in boxes if o is not box]) for box in boxes]
    for members in _neighbours(boxes, blocks, own):
        hull = union([boxes[i] for i in members])
        others = [o for j, o in enumerate(boxes) if j not in members]
        scored = [(s, c) for c in captions if (s := _caption_score(hull, c, others)) is not None]
        best = min(scored, key=lambda t: t[0])[1] if scored else None
        parsed = parse_caption(best.text) if best else None
        if parsed and parsed.kind == "table":
            continue  # a table drawn with rules and fills, not a figure
        title = Draft(page=page, bbox=hull, source="")
        if best is not None and parsed is not None:
            title.figure_id, title.caption, title.caption_key = parsed.figure_id, best.text, id(best)
            best.role = "caption"
        else:
            _atlas_title(title, blocks, others)
        _legend(title, blocks, boxes)
        for i in members:
            box, source = regions[i]
            d = Draft(page=page, bbox=box, source=source, panel=labels[i], in_image_text="\n".join(texts[i]))
            d.column = 1 if (box[2] - box[0]) < 0.55 * page_width and box[0] > page_width * 0.45 else 0
            d.figure_id, d.caption, d.caption_key = title.figure_id, title.caption, title.caption_key
            d.label_below = label_below[i]
            if parsed is not None and parsed.sub:
                d.panel = d.panel or parsed.sub  # "Fig. 6b": figure 6, panel b
                d.lower = best is not None and bool(re.match(r"\D*\d+(?:[.\-]\d+)*[a-z](?![a-z])", best.text))
                d.label_below = True
            drafts.append(d)
    return _group(drafts)


def _best_caption(box: BBox, captions: list[Block], others: list[BBox]) -> Block | None:
    scored = [(s, c) for c in captions if (s := _caption_score(box, c, others)) is not None]
    return min(scored, key=lambda t: t[0])[1] if scored else None


def _neighbours(boxes: list[BBox], blocks: list[Block], own: list[Block | None]) -> list[list[int]]:
    """Regions a few points apart with no running text between them are parts of one figure (a grid of frames),
    unless each has a caption of its own ("Fig. 6a" under one picture, "Fig. 6b" under the next)."""
    body = [b.bbox for b in blocks if b.role in ("body", "heading")]
    n = len(boxes)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            a, b = boxes[i], boxes[j]
            row = abs(a[1] - b[1]) < 3 and abs(a[3] - b[3]) < 3
            column = abs(a[0] - b[0]) < 3 and abs(a[2] - b[2]) < 3
            # Small frames of one row are spread over the text width: as far apart as a frame is wide.
            reach = max(60.0, min(a[2] - a[0], b[2] - b[0])) if row else 60.0 if column else 30.0
            if gap(a, b) > reach or (own[i] is not None and own[j] is not None and own[i] is not own[j]):
                continue
            zone = union([a, b])
            if not any(inside(t, zone, 0.5) and not inside(t, a, 0.5) and not inside(t, b, 0.5) for t in body):
                parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def _atlas_title(d: Draft, blocks: list[Block], others: list[BBox]) -> None:
    above = [
        b
        for b in blocks
        if b.role in ("body", "heading")
        and b.bbox[3] <= d.bbox[1] + 3
        and d.bbox[1] - b.bbox[3] <= 40
        and x_overlap(b.bbox, d.bbox) > 0.2
        and not _between(d.bbox, b.bbox, others)
    ]
    if not above or d.figure_id:
        return
    nearest = max(above, key=lambda b: b.bbox[3])
    parsed = parse_atlas_heading(nearest.text)
    if parsed:
        nearest.role = "atlas"  # a figure title that is also a section heading
        d.figure_id = parsed[0]
        d.caption = nearest.text.strip()
        d.caption_key = id(nearest)


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
    """Regions sharing a caption become the panels of one figure; unnamed multi-part figures are merged."""
    by_caption: dict[int, list[Draft]] = {}
    out: list[Draft] = []
    for d in drafts:
        if d.caption_key is None:
            out.append(d)
        else:
            by_caption.setdefault(d.caption_key, []).append(d)
    for group in by_caption.values():
        named = caption_panels(group[0].caption)
        for d in group:
            d.named_panels = named
        if len(group) == 1:
            d = group[0]
            if not named and not d.label_below:
                d.panel = None  # a stray letter inside a figure whose caption names no panels
            d.split = len(named) >= 2 and d.panel is None
            out.append(d)
            continue
        labelled = all(d.panel for d in group) and len({d.panel for d in group}) == len(group)
        if labelled or (named and len(named) == len(group)):
            ordered = sorted(group, key=lambda d: (round(d.bbox[1] / 20), d.bbox[0]))
            for k, d in enumerate(ordered):
                d.panel = d.panel or named[k]
            out += ordered
        else:
            first = group[0]
            first.bbox = union([d.bbox for d in group])
            first.in_image_text = "\n".join(d.in_image_text for d in group if d.in_image_text)
            first.panel = None
            out.append(first)
    for d in out:
        if d.panel:
            d.panel_caption = panel_sentences(d.caption).get(d.panel.upper(), "")
            if d.lower or lowercase_panels(d.caption):
                d.panel = d.panel.lower()  # keep the letter as printed
    return sorted(out, key=lambda d: (d.column, d.bbox[1], d.bbox[0]))
