"""Figures over the whole document: panels that run on into the next column or page, and their letters.

An atlas sets a figure's title over its first panel and lets the panels flow: panel A at the foot of the left
column, B to E at the top of the right one, or on over a page break. A group of frames with no title of its own
that opens its column belongs to the figure still open where the previous column or page ended. The letters of a
figure are then made consistent over all its parts: what OCR read under or inside each panel is kept where it
agrees with the panels' reading order, and a letter that was missed, misread or read twice is put right (A, B, C in
reading order, no letter used twice).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from remud_gen.extract.captions import caption_panels, lowercase_panels, panel_sentences
from remud_gen.extract.grouping import Draft

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def continue_figures(drafts: list[Draft]) -> None:
    """Carry figure ids over column and page breaks, share captions, and settle panel letters (in place).

    `drafts` are in document reading order (pages in turn, each page's drafts as `assign_page` ordered them).
    """
    _carry_ids(drafts)
    for run in _runs(drafts):
        caption = _joined_caption(run)
        for d in run:
            d.caption = caption
        named = caption_panels(caption)
        if len(run) >= 2 and (any(d.panel for d in run) or named):
            letters = reconcile([d.panel for d in run])
            if not any(letters) and len(named) == len(run):
                letters = list(named)  # no letter read, but the caption names as many panels as there are
            for d, letter in zip(run, letters, strict=True):
                d.panel = letter
    for d in drafts:
        if d.panel:
            d.panel_caption = panel_sentences(d.caption).get(d.panel.upper(), "")
            d.panel = d.panel.lower() if d.lower or lowercase_panels(d.caption) else d.panel.upper()


def _carry_ids(drafts: list[Draft]) -> None:
    """A captionless group that opens its column takes the figure of the group that ended the column before it;
    so does one whose first letter goes on from that group's last (born-digital pages, where columns are looser)."""
    groups: dict[tuple[int, int], list[Draft]] = {}
    for d in drafts:
        groups.setdefault((d.page, d.group), []).append(d)
    prev: list[Draft] | None = None
    for group in groups.values():
        first, last = group[0], prev[-1] if prev else None
        if first.figure_id is None and last is not None and last.figure_id and 0 <= first.page - last.page <= 1:
            flows = first.opens_column and last.ends_column
            letters = bool(first.panel and last.panel and first.panel.upper() > last.panel.upper())
            if flows or letters:
                for d in group:
                    _inherit(d, last)
        prev = group


def _inherit(d: Draft, prev: Draft) -> None:
    d.figure_id = prev.figure_id
    d.caption = prev.caption if not d.caption else f"{prev.caption}\n{d.caption}"
    d.section = prev.section
    d.caption_key = prev.caption_key


def _runs(drafts: list[Draft]) -> list[list[Draft]]:
    """Drafts of one figure, in order; an id met again more than a page later (books restart numbering per chapter)
    is another figure."""
    runs: list[list[Draft]] = []
    last: dict[str, tuple[int, int]] = {}
    for d in drafts:
        if not d.figure_id:
            continue
        k, page = last.get(d.figure_id, (-1, -10))
        if d.page - page > 1:
            runs.append([])
            k = len(runs) - 1
        last[d.figure_id] = (k, d.page)
        runs[k].append(d)
    return runs


def _joined_caption(run: list[Draft]) -> str:
    """The figure's whole caption (title, legend) whichever part each panel sat next to."""
    lines: list[str] = []
    for d in run:
        lines += [ln for ln in d.caption.split("\n") if ln.strip() and ln not in lines]
    return "\n".join(lines)


def reconcile(read: Sequence[str | None]) -> list[str | None]:
    """Panel letters for panels in reading order, from what was read for each (None: nothing read).

    All read and no two alike: kept as printed, in whatever order (a grid lettered down its columns). Otherwise the
    read letters are kept when they rise along the reading order with room for the missing ones between them, and
    the gaps are filled; failing that, the run of consecutive letters that agrees with the most reads wins (a
    misread "B" under panel A, a letter taken from a neighbour).
    """
    letters = [r.upper() if r else None for r in read]
    known = [x for x in letters if x]
    if not known:
        return list(letters)
    if len(known) == len(letters) and len(set(known)) == len(known):
        return letters
    filled = _fill(letters)
    if filled is not None:
        return filled
    n = len(letters)
    starts = range(0, len(_LETTERS) - n + 1)
    best = max(starts, key=lambda s: (sum(x == _LETTERS[s + i] for i, x in enumerate(letters)), -s))
    return [_LETTERS[best + i] for i in range(n)]


def _fill(letters: list[str | None]) -> list[str | None] | None:
    """The read letters with the gaps filled, when they rise strictly and the gaps fit; else None."""
    index = [(i, _LETTERS.index(x)) for i, x in enumerate(letters) if x and x in _LETTERS]
    if len(index) != sum(1 for x in letters if x):
        return None
    out: list[str | None] = []
    for i, x in enumerate(letters):
        if x:
            out.append(x)
            continue
        before = [(j, v) for j, v in index if j < i]
        after = [(j, v) for j, v in index if j > i]
        value = before[-1][1] + (i - before[-1][0]) if before else after[0][1] - (after[0][0] - i)
        if value < 0 or value >= len(_LETTERS):
            return None
        out.append(_LETTERS[value])
    values = [_LETTERS.index(x) for x in out if x]
    return out if all(b > a for a, b in itertools.pairwise(values)) else None
