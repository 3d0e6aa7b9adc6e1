"""Lay out a four-page Chinese atlas excerpt and record the truth of every figure on it.

Page 1: chapter / section / subsection headings, body text, a heading bar "16-2-1 肾脏增大" over a 2x2 grid of
lettered panels, the legend "图解要点：A图为…；B图为…".
Page 2: two columns; the figure starts at the foot of the left column (bar + panel A) and goes on at the top of
the right column (panels B, C, legend) with no new heading, text flowing around it.
Page 3: a 1x2 panel figure and a non-ultrasound diagram with a classic caption below it.
Page 4 (another chapter): one picture with a classic caption "图 3-2 肝囊肿声像图" below it.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pymupdf

from samplegen.annotate import Parts, body_decoys, box, cite
from samplegen.content import AtlasFigure, ClassicFigure, ZhBook
from samplegen.pictures import Picture, PictureSource
from samplegen.truth import PageTruth, PanelTruth
from samplegen.typeset import Typesetter
from samplegen.wrap import Run, Style

GREY = (0.35, 0.35, 0.35)
BAR_FILL = (0.86, 0.86, 0.86)
PANEL_H = 150.0
LETTER_H = 17.0


class _Zh:
    """One build: fonts, the typesetter and the truth collected so far."""

    def __init__(self, book: ZhBook, source: PictureSource, doc_name: str) -> None:
        cjk = "china-s"
        self.body = Style(cjk, 10.0, 17.5)
        self.legend = Style(cjk, 9.0, 14.5)
        self.small = Style(cjk, 8.5, 12.0, GREY)
        self.chapter = Style(cjk, 18.0, 32.0, bold=True)
        self.section = Style(cjk, 14.0, 26.0, bold=True)
        self.sub = Style(cjk, 11.5, 21.0, bold=True)
        self.bar = Style(cjk, 10.5, 18.0, bold=True)
        self.letter = Style(cjk, 9.5, 14.0)
        self.caption = Style(cjk, 9.5, 15.0)
        self.book, self.source, self.slots = book, source, itertools.count()
        self.parts = Parts(doc_name)
        self.running_chapter = book.chapter
        self.path: list[str] = []
        self.ts = Typesetter(pymupdf.open(), self._furniture)

    def _furniture(self, ts: Typesetter, page_no: int) -> tuple[list[str], list[str]]:
        folios = self.book.folios
        folio = folios[page_no - 1] if page_no <= len(folios) else str(int(folios[-1]) + page_no - len(folios))
        box = ts.content
        ts.text_at(box.x0, 40, [(self.book.title, self.small)], "header")
        ts.text_at(box.x1, 40, [(self.running_chapter, self.small)], "header", "right")
        ts.page.draw_line((box.x0, 55), (box.x1, 55), color=GREY, width=0.5)
        footer = f"· {folio} ·"
        ts.text_at((box.x0 + box.x1) / 2, 842 - 42, [(footer, self.small)], "footer", "center")
        self.parts.pages.append(PageTruth(self.parts.doc, page_no, [self.book.title, self.running_chapter], [footer]))
        return [self.book.title, self.running_chapter], [footer]

    def heading(self, text: str, style: Style, level: int, *, center: bool = False) -> None:
        self.path = [*self.path[:level], text]
        self.ts.ensure(style.leading * 3)
        self.ts.paragraph([(text, style)], kind="heading", align="center" if center else "left", after=2)

    def para(self, runs: list[Run], *, indent: bool = True, bottom: float | None = None) -> list[Run]:
        """Place a body paragraph, stopping at `bottom` or the foot of the page; returns what is left."""
        placed, rest = self.ts.paragraph_until(
            runs, bottom, same_page=True, indent=2 * self.body.size if indent else 0.0
        )
        if placed:
            text = "".join(t for t, _ in runs)
            cite(self.parts, placed[0].page, text, "zh")
        return rest

    def flow(self, paragraphs: tuple[str, ...]) -> None:
        """Body paragraphs down to the foot of the page at most (a page of an excerpt may end mid-sentence)."""
        for text in paragraphs:
            if self.para([(text, self.body)]):
                return

    def pictures(self, fig: AtlasFigure) -> tuple[list[Picture], list[str]]:
        pics = [self.source(p.frame, next(self.slots)) for p in fig.panels]
        return pics, [
            p.sentence.format(dist=f"{pic.dist_cm:.1f}cm" if pic.dist_cm else "—")
            for p, pic in zip(fig.panels, pics, strict=True)
        ]

    def bar_line(self, fig: AtlasFigure) -> str:
        """The light-grey heading bar across the column with the figure number and title."""
        ts, col = self.ts, self.ts.column
        title = f"{fig.fig_id} {fig.title}"
        ts.page.draw_rect(pymupdf.Rect(col.x0, ts.y, col.x1, ts.y + 19), color=None, fill=BAR_FILL)
        ts.text_at(col.x0 + 6, ts.y + 3.5, [(title, self.bar)], "figure_title")
        ts.y += 25
        return title

    def sizes(self, pics: list[Picture], cols: int) -> tuple[float, list[tuple[float, float]]]:
        """Cell width and the (w, h) of each picture: 150 pt high unless the cell is too narrow."""
        cell = (self.ts.column.width - 14 * (cols - 1)) / cols
        return cell, [(w := min(cell - 8, PANEL_H * p.aspect), w / p.aspect) for p in pics]

    def row(self, pics: list[Picture], letters: str, cols: int) -> list[tuple[int, pymupdf.Rect]]:
        """One row of panels centred in equal cells, each with its letter centred below."""
        ts = self.ts
        cell, sizes = self.sizes(pics, cols)
        height = max(h for _, h in sizes)
        ts.ensure(height + LETTER_H + 6)
        col = ts.column
        start = col.x0 + (col.width - (cols * cell + 14 * (cols - 1))) / 2
        placed = []
        for i, (pic, (w, h), letter) in enumerate(zip(pics, sizes, letters, strict=True)):
            cx = start + i * (cell + 14) + cell / 2
            rect = pymupdf.Rect(cx - w / 2, ts.y, cx + w / 2, ts.y + h)
            ts.image(rect, stream=pic.data)
            ts.text_at(cx, ts.y + h + 3, [(letter, self.letter)], "panel_letter", "center")
            placed.append((ts.page_no, rect))
        ts.y += height + LETTER_H + 6
        return placed

    def record(
        self,
        fig_id: str | None,
        caption: str,
        pic: Picture,
        where: tuple[int, pymupdf.Rect],
        panel: str | None,
        sentence: str,
    ) -> None:
        self.parts.panels.append(
            PanelTruth(
                doc=self.parts.doc,
                page=where[0],
                bbox=box(where[1]),
                figure_id=fig_id,
                panel=panel,
                caption=caption,
                panel_caption=sentence,
                in_image_text=list(pic.texts),
                is_ultrasound=pic.kind == "ultrasound",
                kind=pic.kind,
                section=list(self.path),
                language="zh",
            )
        )

    def atlas_figure(self, fig: AtlasFigure, cols: int) -> None:
        pics, sentences = self.pictures(fig)
        first_row = max(h for _, h in self.sizes(pics[:cols], cols)[1])
        self.ts.ensure(25 + first_row + LETTER_H + 6)
        title = self.bar_line(fig)
        letters = "ABCDEFGH"[: len(pics)]
        placed = []
        for r in range(math.ceil(len(pics) / cols)):
            placed += self.row(pics[r * cols : (r + 1) * cols], letters[r * cols : (r + 1) * cols], cols)
        legend = self.legend_para(sentences)
        for pic, where, letter, sentence in zip(pics, placed, letters, sentences, strict=True):
            self.record(fig.fig_id, f"{title}\n{legend}", pic, where, letter, sentence)

    def legend_para(self, sentences: list[str]) -> str:
        legend = "图解要点：" + "；".join(sentences) + "。"
        self.ts.paragraph([(legend, self.legend)], kind="legend", after=8)
        return legend

    def classic(self, fig: ClassicFigure, width: float) -> None:
        """One picture with "图 3-2 肝囊肿声像图" (and an optional legend line) centred below it."""
        ts = self.ts
        pic = self.source(fig.frame, next(self.slots))
        h = width / pic.aspect
        ts.ensure(h + 44)
        col = ts.column
        rect = pymupdf.Rect((col.x0 + col.x1 - width) / 2, ts.y + 4, (col.x0 + col.x1 + width) / 2, ts.y + 4 + h)
        ts.image(rect, stream=pic.data)
        ts.y = rect.y1 + 6
        title = f"图 {fig.fig_id} {fig.title}"
        ts.paragraph([(title, self.caption)], kind="caption", align="center")
        if fig.legend:
            ts.paragraph([(fig.legend, self.legend)], kind="caption", align="center")
        ts.y += 10
        caption = f"{title}\n{fig.legend}" if fig.legend else title
        self.record(fig.fig_id, caption, pic, (ts.page_no, rect), None, "")


def build_zh(book: ZhBook, source: PictureSource, out: Path) -> Parts:
    """Write the atlas excerpt to `out` and return its truth."""
    z = _Zh(book, source, out.name)
    ts = z.ts
    ts.new_page(1)
    z.heading(book.chapter, z.chapter, 0, center=True)
    z.heading(book.section, z.section, 1)
    z.heading(book.sub1, z.sub, 2)
    z.flow(book.p1_before)
    z.atlas_figure(book.fig1, cols=2)
    z.flow(book.p1_after)

    ts.new_page(2)
    z.heading(book.sub2, z.sub, 2)
    pics, sentences = z.pictures(book.fig2)
    a_h = z.sizes(pics[:1], 1)[1][0][1]
    bottom = ts.column.y1 - (25 + a_h + LETTER_H + 6)
    leftover: list[tuple[list[Run], bool]] = []
    for text in (*book.p2_left, *book.p2_right):
        runs: list[Run] = [(text, z.body)]
        if leftover:
            leftover.append((runs, True))
            continue
        rest = z.para(runs, bottom=bottom)
        if rest:
            leftover.append((rest, False))
    ts.y = max(ts.y + 6, bottom)
    title = z.bar_line(book.fig2)
    placed = z.row(pics[:1], "A", 1)
    ts.next_column()
    for i, pic in enumerate(pics[1:], start=1):
        placed += z.row([pic], "ABCDEFGH"[i], 1)
    legend = z.legend_para(sentences)
    for i, (pic, where, sentence) in enumerate(zip(pics, placed, sentences, strict=True)):
        z.record(book.fig2.fig_id, f"{title}\n{legend}", pic, where, "ABCDEFGH"[i], sentence)
    for runs, indent in leftover:
        if z.para(runs, indent=indent):
            break

    ts.new_page(1)
    z.heading(book.sub3, z.sub, 2)
    z.flow(book.p3_before)
    z.atlas_figure(book.fig3, cols=2)
    z.flow(book.p3_after)
    z.classic(book.fig3b, 250.0)

    z.running_chapter = book.chapter4
    ts.new_page(1)
    z.path = [book.chapter4]
    z.heading(book.section4, z.section, 1)
    z.heading(book.sub4, z.sub, 2)
    z.flow(book.p4_before)
    z.classic(book.fig4, 280.0)
    z.heading(book.sub4b, z.sub, 2)
    z.flow(book.p4_after)
    ts.flush()
    z.parts.decoys = body_decoys(out.name, ts.lines)
    ts.doc.subset_fonts()
    ts.doc.save(out, garbage=3, deflate=True, no_new_id=True)  # same seed, same bytes
    ts.doc.close()
    return z.parts
