"""A small typesetter: wraps runs of text into columns on A4 pages and remembers where every line went.

It is just enough to lay out book and journal pages the way real ones look (columns, first-line indents,
centred captions, Chinese line breaking that keeps closing punctuation off the line start) while recording the
position of every line and image, which becomes the ground truth of the sample documents.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pymupdf

from samplegen.wrap import Colour, Run, merge, wrap

A4 = (595.0, 842.0)


@dataclass
class Line:
    """One placed line of text: 1-based page, the text as drawn, its box and what it is (body, caption...)."""

    page: int
    text: str
    rect: pymupdf.Rect
    kind: str


@dataclass
class Typesetter:
    """Flows text and images top-down through the columns of successive pages.

    `furniture(page, index)` draws the running header/footer of each new page and returns their strings.
    """

    doc: pymupdf.Document
    furniture: Callable[[Typesetter, int], tuple[list[str], list[str]]]
    margins: tuple[float, float, float, float] = (57.0, 72.0, 57.0, 62.0)
    lines: list[Line] = field(default_factory=list)
    pages_furniture: list[tuple[list[str], list[str]]] = field(default_factory=list)
    y: float = 0.0
    _cols: list[pymupdf.Rect] = field(default_factory=list)
    _col: int = 0
    _writer: pymupdf.TextWriter | None = None
    _writer_key: tuple[Colour, bool] | None = None

    @property
    def page(self) -> pymupdf.Page:
        return self.doc[-1]

    @property
    def page_no(self) -> int:
        return self.doc.page_count

    @property
    def column(self) -> pymupdf.Rect:
        return self._cols[self._col]

    @property
    def content(self) -> pymupdf.Rect:
        left, top, right, bottom = self.margins
        return pymupdf.Rect(left, top, A4[0] - right, A4[1] - bottom)

    def new_page(self, columns: int = 1) -> None:
        """Start a page with its header and footer and `columns` text columns."""
        self.flush()
        self.doc.new_page(width=A4[0], height=A4[1])
        self.pages_furniture.append(self.furniture(self, self.page_no))
        self.y = self.content.y0
        self.set_columns(columns)

    def set_columns(self, n: int, gap: float = 20.0) -> None:
        """Split the rest of the page (from the cursor down) into n columns."""
        box = self.content
        width = (box.width - gap * (n - 1)) / n
        self._cols = [
            pymupdf.Rect(box.x0 + i * (width + gap), self.y, box.x0 + i * (width + gap) + width, box.y1)
            for i in range(n)
        ]
        self._col = 0

    def next_column(self) -> None:
        if self._col + 1 < len(self._cols):
            self._col += 1
            self.y = self.column.y0
        else:
            self.new_page(len(self._cols))

    def room(self) -> float:
        return self.column.y1 - self.y

    def ensure(self, height: float) -> None:
        """Move to the next column (or page) unless `height` points still fit in this one."""
        if self.room() < height:
            self.next_column()

    def text_at(self, x: float, y: float, runs: Sequence[Run], kind: str, align: str = "left") -> Line:
        """Draw one line with its top-left (or top-centre / top-right, per `align`) at (x, y)."""
        runs = merge(runs)
        width = sum(style.width(t) for t, style in runs)
        x0 = x - width / 2 if align == "center" else x - width if align == "right" else x
        cursor = x0
        size = max(style.size for _, style in runs)
        for text, style in runs:
            writer = self._writer_for((style.colour, style.bold))
            writer.append((cursor, y + size * 0.88), text, font=style.font, fontsize=style.size)
            cursor += style.width(text)
        line = Line(self.page_no, "".join(t for t, _ in runs), pymupdf.Rect(x0, y, x0 + width, y + size * 1.15), kind)
        self.lines.append(line)
        return line

    def paragraph(
        self, runs: Sequence[Run], *, kind: str = "body", indent: float = 0.0, align: str = "left", after: float = 0.0
    ) -> list[Line]:
        """Wrap runs to the column width and place the lines, moving on to the next column when one is full."""
        placed, _ = self.paragraph_until(runs, kind=kind, indent=indent, align=align, after=after)
        return placed

    def paragraph_until(
        self,
        runs: Sequence[Run],
        bottom: float | None = None,
        *,
        same_page: bool = False,
        kind: str = "body",
        indent: float = 0.0,
        align: str = "left",
        after: float = 0.0,
    ) -> tuple[list[Line], list[Run]]:
        """Like `paragraph`, but stop before a line would cross `bottom` (or, with `same_page`, leave the page)
        and return the rest as runs.

        This is how text flows around a figure: fill a column down to the figure, then go on elsewhere.
        """
        placed: list[Line] = []
        wrapped = wrap(runs, self.column.width, indent)
        for i, line in enumerate(wrapped):
            leading = max(style.leading for _, style in line)
            last_column = self._col + 1 == len(self._cols)
            if (bottom is not None and self.y + leading > bottom) or (
                same_page and last_column and self.room() < leading
            ):
                return placed, [tok for rest in wrapped[i:] for tok in rest]
            self.ensure(leading)
            line = [*line[:-1], (line[-1][0].rstrip(" "), line[-1][1])]
            col = self.column
            if align == "center":
                placed.append(self.text_at((col.x0 + col.x1) / 2, self.y, line, kind, "center"))
            else:
                placed.append(self.text_at(col.x0 + (indent if i == 0 else 0.0), self.y, line, kind))
            self.y += leading
        self.y += after
        return placed, []

    def block(self, runs: Sequence[Run], x0: float, width: float, y: float, kind: str) -> float:
        """Wrap runs into a box of `width` at (x0, y) without moving the cursor; returns the block's height."""
        top = y
        for line in wrap(runs, width):
            line = [*line[:-1], (line[-1][0].rstrip(" "), line[-1][1])]
            self.text_at(x0, y, line, kind)
            y += max(style.leading for _, style in line)
        return y - top

    def image(self, rect: pymupdf.Rect, *, stream: bytes | None = None, xref: int = 0) -> int:
        """Place an image exactly in `rect` (whose aspect must match the image's); returns its xref."""
        return int(self.page.insert_image(rect, stream=stream, xref=xref, keep_proportion=False))

    def _writer_for(self, key: tuple[Colour, bool]) -> pymupdf.TextWriter:
        # A TextWriter has one colour and render mode; switching writers whenever the style changes keeps the
        # content stream in reading order, as real typesetters write it.
        if self._writer is None or key != self._writer_key:
            self.flush()
            self._writer, self._writer_key = pymupdf.TextWriter(self.page.rect), key
        return self._writer

    def flush(self) -> None:
        """Write the pending text to the current page (done on every style change, page change and at the end)."""
        if self._writer is not None and self._writer_key is not None:
            colour, bold = self._writer_key
            self._writer.write_text(self.page, color=colour, render_mode=2 if bold else 0)
        self._writer = self._writer_key = None
