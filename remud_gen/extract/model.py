"""Neutral page model shared by the born-digital and the scanned path.

Both paths reduce a page to the same few things: text blocks with boxes in PDF points (from the text layer, or from
OCR lines mapped back to points) and graphic regions. Everything after that (reading order, captions, panels,
chunks) only sees these dataclasses, so a scanned page gets exactly the same caption logic as a born-digital one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from remud_gen.text.lang import is_wide

BBox = tuple[float, float, float, float]


@dataclass(slots=True)
class Line:
    """One line of text: its box in points, font size in points, and whether it is set in bold."""

    text: str
    bbox: BBox
    size: float = 10.0
    bold: bool = False


@dataclass(slots=True)
class Block:
    """A paragraph-like group of lines; `role` is filled in by layout analysis."""

    lines: list[Line]
    page: int = 1
    role: str = "body"  # body | margin | heading | caption | legend | label | figure-text
    column: int = 0
    section: list[str] = field(default_factory=list)
    folded: int = 0  # lines that `settled` folded into `lines[0]`; 0 while `lines` are the page's own

    @property
    def line_count(self) -> int:
        return self.folded or len(self.lines)

    def settled(self) -> Block:
        """This block with its lines folded into one: the same text, box, size, boldness and line count, in a
        fraction of the memory. What the whole-document steps keep of a page once its layout is decided."""
        if len(self.lines) <= 1:
            return self
        line = Line(self.text, self.bbox, self.size, self.bold)
        return Block([line], self.page, self.role, self.column, self.section, folded=len(self.lines))

    @property
    def bbox(self) -> BBox:
        return union([ln.bbox for ln in self.lines])

    @property
    def text(self) -> str:
        return join_lines([ln.text for ln in self.lines])

    @property
    def size(self) -> float:
        return max((ln.size for ln in self.lines), default=0.0)

    @property
    def bold(self) -> bool:
        return all(ln.bold for ln in self.lines if ln.text.strip())


@dataclass(slots=True)
class Graphic:
    """A drawn thing on a page: an embedded raster (with a content digest) or a cluster of vector paths."""

    bbox: BBox
    kind: str  # raster | vector | detected
    digest: str = ""
    pixels: tuple[int, int] = (0, 0)


def union(boxes: list[BBox]) -> BBox:
    """The smallest box holding all `boxes` (a zero box for none)."""
    if not boxes:
        return (0.0, 0.0, 0.0, 0.0)
    x0, y0, x1, y1 = zip(*boxes, strict=True)  # one pass in C instead of four generators: blocks call this a lot
    return (min(x0), min(y0), max(x1), max(y1))


def area(b: BBox) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def intersection(a: BBox, b: BBox) -> float:
    """Area of the overlap of two boxes."""
    return area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def iou(a: BBox, b: BBox) -> float:
    """Intersection over union of two boxes."""
    inter = intersection(a, b)
    total = area(a) + area(b) - inter
    return inter / total if total > 0 else 0.0


def gap(a: BBox, b: BBox) -> float:
    """Distance between two boxes (0 when they touch or overlap)."""
    dx = max(0.0, max(a[0], b[0]) - min(a[2], b[2]))
    dy = max(0.0, max(a[1], b[1]) - min(a[3], b[3]))
    return max(dx, dy)


def x_overlap(a: BBox, b: BBox) -> float:
    """Horizontal overlap as a fraction of the narrower box."""
    inter = min(a[2], b[2]) - max(a[0], b[0])
    narrow = min(a[2] - a[0], b[2] - b[0])
    return max(0.0, inter) / narrow if narrow > 0 else 0.0


def y_overlap(a: BBox, b: BBox) -> float:
    """Vertical overlap as a fraction of the shorter box."""
    inter = min(a[3], b[3]) - max(a[1], b[1])
    short = min(a[3] - a[1], b[3] - b[1])
    return max(0.0, inter) / short if short > 0 else 0.0


def inside(inner: BBox, outer: BBox, tol: float = 0.8) -> bool:
    """True when at least `tol` of `inner`'s area lies within `outer`."""
    a = area(inner)
    return a > 0 and intersection(inner, outer) / a >= tol


def join_lines(lines: list[str]) -> str:
    """Join wrapped lines: de-hyphenate Latin words, no space between CJK characters."""
    out = ""
    for raw in lines:
        t = raw.strip()
        if not t:
            continue
        if not out:
            out = t
        elif out.endswith("-") and len(out) > 1 and out[-2].isalpha() and t[:1].islower():
            out = out[:-1] + t
        elif is_wide(out[-1]) and is_wide(t[0]):
            out += t
        else:
            out += " " + t
    return out
