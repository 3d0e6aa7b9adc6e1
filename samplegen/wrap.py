"""Measuring and breaking lines: styles, built-in fonts and a greedy line breaker for Latin and CJK text.

Latin words stay whole; each CJK character may start a line, except closing punctuation, which is glued to the
character before it (and opening punctuation to the one after), as Chinese typesetting requires.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pymupdf

Colour = tuple[float, float, float]
BLACK: Colour = (0.0, 0.0, 0.0)
# Latin words (with their trailing space) stay whole; anything else (a CJK character) is its own token.
_TOKEN = re.compile(r"\n|[\x21-\x7e\u00a0\u00b0\u00b1\u00c0-\u024f\u2002\u2013\u2014\u2019\u202f\u00d7]+ ?| |.")
_CLOSING = set("，。；：、）》」』！？…%”,.;:)")
_OPENING = set("（《「『“")


_FONTS: dict[str, pymupdf.Font] = {}
# text_length walks MuPDF's glyph fallback for every character of every call; advances are cached per character
_ADVANCES: dict[tuple[str, str], float] = {}


def font(name: str) -> pymupdf.Font:
    """A PyMuPDF built-in font by its short name ("china-s", "tiro", "hebo"...), loaded once."""
    if name not in _FONTS:
        _FONTS[name] = pymupdf.Font(name)
    return _FONTS[name]


def _advance(name: str, ch: str) -> float:
    key = (name, ch)
    if key not in _ADVANCES:
        _ADVANCES[key] = float(font(name).text_length(ch, fontsize=1.0))
    return _ADVANCES[key]


@dataclass(frozen=True)
class Style:
    """Font, size, line pitch and colour of a run; `bold` strokes the glyph outline (CJK fonts have no bold)."""

    fontname: str
    size: float
    leading: float
    colour: Colour = BLACK
    bold: bool = False

    @property
    def font(self) -> pymupdf.Font:
        return font(self.fontname)

    def width(self, text: str) -> float:
        return self.size * sum(_advance(self.fontname, ch) for ch in text)


Run = tuple[str, Style]


def merge(runs: Sequence[Run]) -> list[Run]:
    """Join neighbouring pieces that share a style, so each line is drawn with as few text calls as possible."""
    out: list[Run] = []
    for text, style in runs:
        if out and out[-1][1] is style:
            out[-1] = (out[-1][0] + text, style)
        else:
            out.append((text, style))
    return out


def tokens(runs: Sequence[Run]) -> list[tuple[str, Style]]:
    """Split runs into unbreakable pieces, gluing closing punctuation to the piece before it."""
    out: list[tuple[str, Style]] = []
    pending_open = ""
    for text, style in runs:
        for tok in _TOKEN.findall(text):
            if tok in _OPENING:
                pending_open += tok
                continue
            tok, pending_open = pending_open + tok, ""
            if tok[0] in _CLOSING and out and out[-1][0] != "\n" and out[-1][1] is style:
                out[-1] = (out[-1][0] + tok, style)
            else:
                out.append((tok, style))
    if pending_open:
        out.append((pending_open, runs[-1][1]))
    return out


def wrap(runs: Sequence[Run], width: float, indent: float = 0.0) -> list[list[tuple[str, Style]]]:
    """Greedy line breaking; a "\\n" in the text forces a break there."""
    lines: list[list[tuple[str, Style]]] = [[]]
    used = indent
    for tok, style in tokens(runs):
        if tok == "\n":
            lines.append([])
            used = 0.0
            continue
        w = style.width(tok.rstrip(" "))
        if lines[-1] and used + w > width:
            lines.append([])
            used = 0.0
            tok = tok.lstrip(" ")
            if not tok:
                continue
        lines[-1].append((tok, style))
        used += style.width(tok)
    return [line for line in lines if line]
