"""Section headings and the heading path every text block and figure sits under.

A block is a heading when it is short and either set larger than body text, set in bold on its own, or numbered
like a heading ("第十六章", "第二节", "2.5.", "16-2-1 肾脏增大", "Chapter 3"). Its level comes from the numbering
when there is one (chapter 1, section 2, "1.2.3" -> 3), else from its font size rank in the document.
"""

from __future__ import annotations

import re

from remud_gen.extract.model import Block
from remud_gen.text.lang import count_cjk

_CHAPTER = re.compile(r"^\s*(?:第\s*[一二三四五六七八九十百零〇\d]+\s*[章篇部]|chapter\s+\w+|part\s+[ivx\d]+)\b", re.I)
_SECTION = re.compile(r"^\s*第\s*[一二三四五六七八九十百零〇\d]+\s*节")
_ZH_ENUM = re.compile(r"^\s*[一二三四五六七八九十]+\s*[、.．]")
_NUMBERED = re.compile(r"^\s*(\d{1,3}(?:[.．]\d{1,3}){0,4})[.．]?\s+\S")
_HYPHENATED = re.compile(r"^\s*(\d{1,3}(?:\s*[-－]\s*\d{1,3}){1,3})\s+\S")
_SENTENCE_END = re.compile(r"[.。;；,，:：]$")


def heading_level(block: Block, body: float, size_rank: dict[float, int]) -> int | None:
    """Level (1 = outermost) when `block` is a heading, else None."""
    text = block.text.strip()
    if block.role == "atlas":
        m = _HYPHENATED.match(text)
        return min(len(re.split(r"[-－]", m.group(1))), 6) if m else None
    if block.role != "body" or not text or len(text) > 120 or block.line_count > 3:
        return None
    if len(re.findall(r"[^\W\d_]", text)) < 2:
        return None  # numbers and symbols: table cells, page furniture
    if _CHAPTER.match(text):
        return 1
    if _SECTION.match(text):
        return 2
    size = round(block.size * 2) / 2
    larger = size >= body * 1.12
    alone_bold = block.bold and len(text) <= 90
    if not (larger or alone_bold):
        return None
    if _SENTENCE_END.search(text) and not larger:
        return None
    m = _NUMBERED.match(text)
    if m and not re.match(r"^\s*\d+[.．]?\s*$", text):
        return min(len(re.split(r"[.．]", m.group(1).strip("."))), 6)
    m = _HYPHENATED.match(text)
    if m:
        return min(len(re.split(r"[-－]", m.group(1))), 6)
    if _ZH_ENUM.match(text):
        return 3
    return size_rank.get(size, 4) if larger else 4


def size_ranks(blocks: list[Block], body: float) -> dict[float, int]:
    """Map each heading-like font size (larger than body) to a level by descending size."""
    sizes = sorted({round(b.size * 2) / 2 for b in blocks if b.size >= body * 1.12}, reverse=True)
    return {s: min(i + 1, 4) for i, s in enumerate(sizes)}


def assign_sections(blocks: list[Block], body: float, title: str | None) -> list[tuple[int, Block]]:
    """Mark heading blocks (role="heading"), set `section` on every block; return (level, heading) pairs.

    `blocks` are the whole document's blocks in reading order. The document title is not part of any path.
    """
    ranks = size_ranks([b for b in blocks if len(b.text) <= 120], body)
    stack: list[tuple[int, str]] = []
    found: list[tuple[int, Block]] = []
    for i, b in enumerate(blocks):
        level = heading_level(b, body, ranks)
        if level is not None and level > 2 and not _followed_by_text(blocks, i, body, ranks):
            level = None  # a bold table cell or label, not a heading: headings introduce text
        if level is not None and b.text.strip() != (title or "").strip():
            b.role = "heading" if b.role != "atlas" else "atlas"
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, _clean(b.text)))
            found.append((level, b))
        b.section = [t for _, t in stack]
    return found


def _followed_by_text(blocks: list[Block], i: int, body: float, ranks: dict[float, int]) -> bool:
    for nxt in blocks[i + 1 : i + 3]:
        if nxt.page != blocks[i].page and nxt.page != blocks[i].page + 1:
            return False
        if len(nxt.text) >= 80 or count_cjk(nxt.text) >= 30:
            return True
        if heading_level(nxt, body, ranks) is None:
            return False
    return False


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def document_title(first_page: list[Block], height: float, body: float) -> str | None:
    """The largest-set phrase (3+ words, or 6+ CJK characters) in the top half of page 1, if larger than body."""
    cands = [
        b
        for b in first_page
        if b.role == "body"
        and b.bbox[1] < height / 2
        and len(b.text) <= 300
        and (len(b.text.split()) >= 3 or count_cjk(b.text) >= 6)
    ]
    if not cands:
        return None
    top = max(cands, key=lambda b: b.size)
    return _clean(top.text) if top.size >= body * 1.3 else None
