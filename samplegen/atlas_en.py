"""Lay out a four-page English journal article and record the truth of every figure on it.

Page 1 (one column): title block, "Figure\u00a01.\u2002..." caption below a frame, a body line starting "Figure 1).".
Page 2: a 2x2 composite stored as ONE raster with letters drawn in it and "Fig. 2" below, then two columns of
text with a line starting "(Figure 2)". Page 3 (two columns): "FIGURE 3 | ..." ABOVE a colour Doppler frame and a
colour schematic with "Figure 4." below. Page 4: a pair of frames captioned "Fig. 6a" / "Fig. 6b" and a CMYK
photo-like image. Every page carries the publisher logo in its header (the same image object each time).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pymupdf

from samplegen import text_en as t
from samplegen.annotate import Parts, body_decoys, box, cite
from samplegen.composite import composite
from samplegen.content import FrameSpec
from samplegen.negatives import render_logo
from samplegen.pictures import (
    Picture,
    PictureSource,
    caliper_cm,
    draw,
    place,
    synthetic_source,
    to_indexed,
    to_picture,
)
from samplegen.truth import PageTruth, PanelTruth
from samplegen.typeset import Typesetter
from samplegen.wrap import Run, Style

GREY = (0.4, 0.4, 0.4)
LOGO_RECT = (57.0, 24.0, 123.0, 46.0)


class _En:
    def __init__(self, source: PictureSource, doc_name: str, seed: int) -> None:
        serif, bold, italic, sans, sans_bold = "tiro", "tibo", "tiit", "helv", "hebo"
        self.body = Style(serif, 9.5, 12.4)
        self.head = Style(bold, 10.5, 16.0)
        self.title = Style(bold, 17.0, 21.0)
        self.authors = Style(serif, 10.5, 14.0)
        self.affil = Style(italic, 8.5, 12.0, GREY)
        self.cap = Style(sans, 8.2, 10.4)
        self.cap_bold = Style(sans_bold, 8.2, 10.4)
        self.small = Style(sans, 7.5, 10.0, GREY)
        self.source, self.seed, self.slots = source, seed, itertools.count()
        self.parts = Parts(doc_name)
        self.path: list[str] = []
        self.logo = to_picture(render_logo(264, 88, seed), "logo", fmt="PNG")
        self.logo_xref = 0
        self.ts = Typesetter(pymupdf.open(), self._furniture)

    def _furniture(self, ts: Typesetter, page_no: int) -> tuple[list[str], list[str]]:
        box = ts.content
        rect = pymupdf.Rect(LOGO_RECT)
        self.logo_xref = ts.image(rect, stream=None if self.logo_xref else self.logo.data, xref=self.logo_xref)
        self.parts.panels.append(
            PanelTruth(
                self.parts.doc, page_no, list(LOGO_RECT), None, None, "", "", list(self.logo.texts), False, "logo"
            )
        )
        ts.text_at(box.x1, 26, [(t.JOURNAL, self.small)], "header", "right")
        ts.text_at(box.x1, 36, [(t.CITATION, self.small)], "header", "right")
        ts.page.draw_line((box.x0, 52), (box.x1, 52), color=GREY, width=0.6)
        folio = str(t.FIRST_PAGE + page_no - 1)
        ts.text_at(box.x0, 842 - 40, [(t.LICENCE, self.small)], "footer")
        ts.text_at(box.x1, 842 - 40, [(folio, self.small)], "footer", "right")
        truth = PageTruth(self.parts.doc, page_no, [t.JOURNAL, t.CITATION], [t.LICENCE, folio])
        self.parts.pages.append(truth)
        return truth.header, truth.footer

    def heading(self, text: str) -> None:
        self.path = [text]
        self.ts.ensure(self.head.leading + 3 * self.body.leading)
        self.ts.paragraph([(text, self.head)], kind="heading")

    def paras(self, texts: tuple[str, ...], *, first_indent: bool = False) -> None:
        """Body paragraphs (first-line indent except after a heading), never running off the page."""
        for i, text in enumerate(texts):
            indent = 12.0 if (i or first_indent) else 0.0
            placed, rest = self.ts.paragraph_until([(text, self.body)], same_page=True, indent=indent, after=1.5)
            if placed:
                cite(self.parts, placed[0].page, text, "en")
            if rest:
                return

    def caption_runs(self, label: str, text: str) -> list[Run]:
        return [(label, self.cap_bold), (text, self.cap)]

    def record(
        self,
        page: int,
        rect: pymupdf.Rect,
        fig_id: str,
        caption: str,
        pic: Picture,
        *,
        panel: str | None = None,
        sentence: str = "",
        texts: list[str] | None = None,
        whole: pymupdf.Rect | None = None,
    ) -> None:
        self.parts.panels.append(
            PanelTruth(
                doc=self.parts.doc,
                page=page,
                bbox=box(rect),
                figure_id=fig_id,
                panel=panel,
                caption=caption,
                panel_caption=sentence,
                in_image_text=list(pic.texts if texts is None else texts),
                is_ultrasound=pic.kind == "ultrasound",
                kind=pic.kind,
                section=list(self.path),
                image_bbox=box(whole) if whole else None,
                language="en",
            )
        )

    def centred(self, pic: Picture, width: float) -> pymupdf.Rect:
        """Place a picture centred in the column at the cursor."""
        ts, col = self.ts, self.ts.column
        height = width / pic.aspect
        rect = pymupdf.Rect((col.x0 + col.x1 - width) / 2, ts.y + 4, (col.x0 + col.x1 + width) / 2, ts.y + 4 + height)
        place(ts.page, rect, pic)
        ts.y = rect.y1 + 6
        return rect

    def figure(self, pic: Picture, width: float, fig_id: str, label: str, text: str, *, above: bool = False) -> None:
        """One picture with its caption below (or above, journal style "FIGURE 3 | ...")."""
        ts = self.ts
        runs = self.caption_runs(label, text)
        ts.ensure(width / pic.aspect + 40)
        if above:
            ts.paragraph(runs, kind="caption", after=2)
        rect = self.centred(pic, width)
        page = ts.page_no
        if not above:
            ts.paragraph(runs, kind="caption")
        ts.y += 8
        self.record(page, rect, fig_id, label + text, pic)

    def picture(self, spec: FrameSpec) -> Picture:
        return self.source(spec, next(self.slots))

    def grid_figure(self, specs: tuple[FrameSpec, ...], width: float) -> None:
        """Figure 2: four frames tiled into ONE raster with letters a-d drawn in, the caption below."""
        ts = self.ts
        drawns = [draw(spec, self.seed * 1000 + next(self.slots)) for spec in specs]
        sheet, boxes, texts = composite(drawns, 2, "abcd")
        pic = to_picture(sheet, "ultrasound")
        sentences = [s.format(dist=_cm(drawn.texts)) for s, drawn in zip(t.FIG2_PANELS, drawns, strict=True)]
        text = f" {t.FIG2_TITLE} " + ". ".join(sentences) + "."
        ts.ensure(width / pic.aspect + 50)
        rect = self.centred(pic, width)
        page = ts.page_no
        ts.paragraph(self.caption_runs("Fig. 2", text), kind="caption")
        ts.y += 10
        scale = rect.width / pic.width
        for letter, (x0, y0, x1, y1), own, sentence in zip("abcd", boxes, texts, sentences, strict=True):
            sub = pymupdf.Rect(rect.x0 + x0 * scale, rect.y0 + y0 * scale, rect.x0 + x1 * scale, rect.y0 + y1 * scale)
            self.record(page, sub, "2", "Fig. 2" + text, pic, panel=letter, sentence=sentence, texts=own, whole=rect)

    def pair_figure(self, specs: tuple[FrameSpec, FrameSpec], captions: tuple[str, str], width: float) -> None:
        """Figure 6: two separate images side by side, each with its own "Fig. 6a" caption below it."""
        ts, col = self.ts, self.ts.column
        pics = [self.picture(spec) for spec in specs]
        height = max(width / p.aspect for p in pics)
        ts.ensure(height + 40)
        cell = col.width / 2
        used = 0.0
        whole = "\n".join(captions)
        for i, (pic, caption) in enumerate(zip(pics, captions, strict=True)):
            x0 = col.x0 + i * cell + (cell - width) / 2
            rect = pymupdf.Rect(x0, ts.y + 4, x0 + width, ts.y + 4 + width / pic.aspect)
            ts.image(rect, stream=pic.data)
            label, rest = caption[:7], caption[7:]
            used = max(used, ts.block(self.caption_runs(label, rest), x0, width, rect.y1 + 6, "caption"))
            self.record(ts.page_no, rect, "6", whole, pic, panel=label[-1], sentence=caption.rstrip("."))
        ts.y += height + 4 + 6 + used + 10


def _cm(texts: tuple[str, ...]) -> str:
    cm = caliper_cm(texts)
    return f"{cm:.1f} cm" if cm is not None else "small"


def build_en(seed: int, out: Path) -> Parts:
    """Write the article to `out` and return its truth."""
    e = _En(synthetic_source(seed + 7), out.name, seed)
    ts = e.ts
    ts.new_page(1)
    ts.paragraph([(t.TITLE, e.title)], kind="title", after=4)
    ts.paragraph([(t.AUTHORS, e.authors)], kind="authors")
    ts.paragraph([(t.AFFILIATION, e.affil)], kind="affiliation", after=8)
    ts.paragraph([("Abstract  ", Style(e.head.fontname, 9.5, 12.4)), (t.ABSTRACT, e.body)], kind="abstract", after=10)
    e.heading("1. Introduction")
    e.paras(t.INTRO)
    fig1 = e.picture(KIDNEY)
    e.figure(fig1, 300.0, "1", "Figure\u00a01.", "\u2002" + t.FIG1.format(dist=_cm(fig1.texts)))
    e.heading("2. Normal sonographic anatomy")
    e.paras(t.ANATOMY)

    ts.new_page(1)
    e.grid_figure((KIDNEY_CYST, KIDNEY_CYST, FrameSpec(lesion="cyst", doppler=True), KIDNEY_CYST), 400.0)
    ts.set_columns(2)
    e.heading("3. Cystic lesions")
    e.paras(t.CYSTS)
    e.heading("4. Hydronephrosis")
    e.paras(t.HYDRO)

    ts.new_page(2)
    e.path = ["5. Vascular assessment"]
    e.figure(e.picture(FrameSpec(doppler=True)), ts.column.width, "3", "FIGURE 3", t.FIG3, above=True)
    e.heading("5. Vascular assessment")
    e.paras(t.VASCULAR)
    e.paras(t.VARIANTS[:1], first_indent=True)
    schematic = to_indexed(draw(DIAGRAM, seed * 1000 + 800), "diagram")
    e.figure(schematic, ts.column.width - 10, "4", "Figure 4.", " " + t.FIG4)
    e.paras(t.VARIANTS[1:])

    ts.new_page(1)
    e.heading("6. Calculi")
    e.paras(t.CALCULI[:1])
    e.pair_figure((KIDNEY_STONE, FrameSpec(lesion="stone", doppler=True)), t.FIG6, 220.0)
    e.paras(t.CALCULI[1:], first_indent=True)
    e.heading("7. Patient preparation and positioning")
    e.paras(t.POSITIONING)
    photo = to_picture(draw(FrameSpec(kind="photo"), seed * 1000 + 900), "photo", mode="CMYK")
    e.figure(photo, 250.0, "5", "Figure 5.", " " + t.FIG5)
    ts.paragraph([(t.NOTE, e.affil)], kind="note")
    ts.flush()
    e.parts.decoys = body_decoys(out.name, ts.lines)
    ts.doc.subset_fonts()
    ts.doc.save(out, garbage=3, deflate=True, no_new_id=True)  # same seed, same bytes
    ts.doc.close()
    return e.parts


KIDNEY = FrameSpec()
KIDNEY_CYST = FrameSpec(lesion="cyst")
KIDNEY_STONE = FrameSpec(lesion="stone")
DIAGRAM = FrameSpec(kind="diagram", diagram="anatomy")
