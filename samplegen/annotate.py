"""Truth that is read back from the placed text: caption look-alikes in the body and figure citations."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import pymupdf

from samplegen.truth import Citation, Decoy, PageTruth, PanelTruth
from samplegen.typeset import Line

# A line that starts the way captions start: "图3-2", "Figure 1)", "(Figure 2)", "Fig. 2b", "FIGURE 3".
CAPTION_LIKE = re.compile(r"^\s*[(（]?\s*(?:图|Fig(?:ure)?s?\.?|FIGURE)[\s\u00a0\u2002\u202f]*\d")
ZH_REF = re.compile(r"图\s*(\d+(?:-\d+)*)")
EN_REF = re.compile(r"\bFig(?:ure)?s?\.?[\s\u00a0\u202f]*(\d+)")


@dataclass
class Parts:
    """Everything one document builder knows about what it drew."""

    doc: str
    panels: list[PanelTruth] = field(default_factory=list)
    decoys: list[Decoy] = field(default_factory=list)
    pages: list[PageTruth] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)


def box(rect: pymupdf.Rect) -> list[float]:
    """A rectangle as the truth stores it: [x0, y0, x1, y1] rounded to 0.01 pt."""
    return [round(float(v), 2) for v in (rect.x0, rect.y0, rect.x1, rect.y1)]


def body_decoys(doc: str, lines: Iterable[Line]) -> list[Decoy]:
    """Body lines that begin like a caption; whoever wrote the text, they are not captions."""
    return [
        Decoy(doc, line.page, line.text, box(line.rect))
        for line in lines
        if line.kind == "body" and CAPTION_LIKE.match(line.text)
    ]


def cite(parts: Parts, page: int, text: str, language: str) -> None:
    """Record each figure a body paragraph cites (once per figure and paragraph)."""
    pattern = ZH_REF if language == "zh" else EN_REF
    flat = text.replace("\n", "" if language == "zh" else " ")
    for fig_id in dict.fromkeys(pattern.findall(flat)):
        parts.citations.append(Citation(parts.doc, page, fig_id, flat))
