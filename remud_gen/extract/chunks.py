"""Section-aware text chunks of about `chunk_chars` characters for text-only QA.

Paragraphs are packed in reading order; a chunk closes at a chapter (level-1 section) change, at any section change
once it is reasonably full, or when the next paragraph would overflow it. A paragraph longer than a chunk is cut at
sentence ends. The tail of a chunk cut inside a section is repeated at the head of the next (`chunk_overlap`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from remud_gen.extract.captions import cited_figures
from remud_gen.records import Chunk, Language

_SENTENCE = re.compile(r"(?<=[.!?。！？；;])\s*")


@dataclass
class Para:
    """A body paragraph with its page and heading path."""

    text: str
    page: int
    section: list[str]


def _sentences(text: str, limit: int) -> list[str]:
    parts = [s for s in _SENTENCE.split(text) if s]
    out: list[str] = []
    for s in parts:
        while len(s) > limit:  # a "sentence" with no stop in sight (tables, lists): hard cut
            out.append(s[:limit])
            s = s[limit:]
        out.append(s)
    return out


def _tail(text: str, n: int) -> str:
    if n <= 0 or len(text) <= n:
        return ""
    cut = text[-n:]
    m = re.search(r"(?<=[.!?。！？；;])\s*", cut)
    return cut[m.end() :] if m and m.end() < len(cut) else cut


def make_chunks(
    paras: list[Para], *, doc: str, prefix: str, language: Language, size: int, overlap: int
) -> list[Chunk]:
    """Pack paragraphs into chunks; ids are f"{prefix}-c{i}"."""
    chunks: list[Chunk] = []
    buf: list[str] = []
    pages: list[int] = []
    section: list[str] = []
    head: list[str] = []  # the section the current chunk started in
    sep = "" if language == "zh" else " "

    def flush(carry: bool) -> None:
        nonlocal buf, pages, head
        text = sep.join(buf).strip()
        if text:
            chunks.append(
                Chunk(
                    chunk_id=f"{prefix}-c{len(chunks)}",
                    doc=doc,
                    page_start=min(pages),
                    page_end=max(pages),
                    section=list(head or section),
                    text=text,
                    language=language,
                    figure_refs=cited_figures(text),
                )
            )
        tail = _tail(text, overlap) if carry and text else ""
        buf = [tail] if tail else []
        pages = pages[-1:] if tail else []
        head = list(section) if tail else []

    for p in paras:
        if p.section != section:
            chapter_change = p.section[:1] != section[:1]
            if buf and (chapter_change or len(sep.join(buf)) >= 0.4 * size):
                flush(carry=False)
            section = p.section
        pieces = [p.text] if len(p.text) <= size else _sentences(p.text, size)
        for piece in pieces:
            if buf and len(sep.join(buf)) + len(piece) > size:
                flush(carry=True)
            if not buf:
                head = list(section)
            buf.append(piece)
            pages.append(p.page)
    flush(carry=False)
    return chunks
