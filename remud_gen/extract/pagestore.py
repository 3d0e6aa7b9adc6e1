"""Pass 1's pages of one PDF, their text blocks kept on disk until the whole-document analysis reads them back.

Held as Python objects, a 1,000-page book's blocks and lines were tens of MB: most of what made extract's memory
grow with the length of the book. So each page's blocks are pickled to an anonymous temporary file as soon as the
page is read and loaded again one page at a time. What the cross-page decisions need from the text is counted on
the way in (running-head texts, body font sizes, script); the rest of a page (size, rasters, detected boxes) is
small and stays in memory.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections import Counter

from remud_gen.extract.layout import band_signatures, font_sizes
from remud_gen.extract.model import Block
from remud_gen.extract.pages import PageData
from remud_gen.records import Language
from remud_gen.text.lang import language_by_counts, letters


class PageStore:
    """The pages of one document in reading order; `blocks(n)` gives page n's text blocks back.

    Example:
        >>> with PageStore() as store:  # doctest: +SKIP
        ...     store.add(read_page(doc[0], settings, warnings))
        ...     store.blocks(1)
    """

    def __init__(self) -> None:
        self.pages: list[PageData] = []  # their `blocks` are empty: the blocks are in the file
        self.band_texts: Counter[str] = Counter()  # `layout.band_signatures`, counted once per page
        self.font_sizes: Counter[float] = Counter()  # characters per size over every block, before any role is set
        self.cjk = self.latin = 0  # letters of each script
        # closed by `close`; deleted then, and by the OS if the process dies
        self._file = tempfile.TemporaryFile()  # noqa: SIM115
        self._spans: dict[int, tuple[int, int]] = {}  # page number -> (offset, length) of its pickled blocks

    def add(self, page: PageData) -> None:
        """Count what the cross-page decisions need from ``page``'s blocks, move them to disk, keep the rest."""
        blocks, page.blocks = page.blocks, []
        self.pages.append(page)
        if not blocks:
            return
        self.band_texts.update(band_signatures(blocks, page.size[1]))
        self.font_sizes.update(font_sizes(blocks))
        for b in blocks:
            cjk, latin = letters(b.text)
            self.cjk += cjk
            self.latin += latin
        data = pickle.dumps(blocks, protocol=pickle.HIGHEST_PROTOCOL)
        offset = self._file.seek(0, os.SEEK_END)
        self._file.write(data)
        self._spans[page.number] = (offset, len(data))

    def blocks(self, number: int) -> list[Block]:
        """Page ``number``'s blocks, as read in pass 1 (a fresh copy on every call)."""
        span = self._spans.get(number)
        if span is None:
            return []
        self._file.seek(span[0])
        blocks: list[Block] = pickle.loads(self._file.read(span[1]))
        return blocks

    def has_text(self, number: int) -> bool:
        return number in self._spans

    def language(self, setting: str) -> Language:
        """zh when enough of the letters are CJK (`text.lang`), unless the settings fix the language."""
        if setting in ("zh", "en"):
            return setting  # type: ignore[return-value]
        return language_by_counts(self.cjk, self.latin)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> PageStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
