"""Source units: one text chunk or one figure panel, each the sole source of the requests made from it."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from remud_gen.records import Chunk, Figure, Language, SourceRef

_EMPTY_SEPARATORS = re.compile(r"[:：；;,，]\s*(?:[；;,，]\s*)+")


@dataclass(frozen=True)
class Unit:
    """What one request is generated from."""

    unit_id: str
    language: Language
    images: tuple[str, ...]  # paths relative to WORK
    ref: SourceRef
    chunk: Chunk | None = None
    figure: Figure | None = None

    def order(self, kind: str, seed: int) -> str:
        """A stable, well-mixed sort key, so caps sample across documents instead of taking the first book."""
        return hashlib.sha256(f"{seed}:{kind}:{self.unit_id}".encode()).hexdigest()


def chunk_unit(chunk: Chunk) -> Unit:
    ref = SourceRef(doc=chunk.doc, page=chunk.page_start, chunk_id=chunk.chunk_id)
    return Unit(unit_id=chunk.chunk_id, language=chunk.language, images=(), ref=ref, chunk=chunk)


def figure_unit(figure: Figure, attach_page: bool) -> Unit:
    images = (figure.image,) + ((figure.page_image,) if attach_page and figure.page_image else ())
    ref = SourceRef(
        doc=figure.doc, page=figure.page, figure_key=figure.figure_key, figure_id=figure.figure_id, panel=figure.panel
    )
    return Unit(unit_id=figure.figure_key, language=figure.language, images=images, ref=ref, figure=figure)


def source_text(unit: Unit, labels: dict[str, Any], max_chars: int) -> str:
    """The text placed between <source> tags: the chunk, or a figure's caption, legend, in-image text and context."""
    if unit.chunk is not None:
        return unit.chunk.text[:max_chars]
    fig = unit.figure
    assert fig is not None
    parts = []
    if fig.section:
        parts.append(f"{labels['section']}: {' > '.join(fig.section)}")
    for name, value in (
        ("caption", own_caption(fig)),
        ("panel_caption", fig.panel_caption),
        ("in_image_text", fig.in_image_text),
    ):
        if value:
            parts.append(f"{labels[name]}: {value}")
    if fig.context:
        parts.append(f"{labels['context']}:\n" + "\n".join(fig.context))
    return "\n".join(parts)[:max_chars]


def own_caption(fig: Figure) -> str:
    """The caption without the other panels' legend sentences: a panel's prompt must not describe its siblings."""
    if not fig.panel:
        return fig.caption
    from remud_gen.extract.captions import panel_sentences

    text = fig.caption
    for letter, sentence in panel_sentences(fig.caption).items():
        if letter != fig.panel and sentence and sentence not in fig.panel_caption:
            text = text.replace(sentence, "")
    return _EMPTY_SEPARATORS.sub(lambda m: m.group(0)[0], text).strip(" ；;,，")


def has_source(unit: Unit, min_chars: int) -> bool:
    """A chunk needs enough text; a figure needs some text to be grounded in (caption, legend or context)."""
    if unit.chunk is not None:
        return len(unit.chunk.text) >= min_chars
    fig = unit.figure
    return fig is not None and bool(fig.caption or fig.panel_caption or fig.context)


def absolute(work: Path, images: tuple[str, ...]) -> tuple[Path, ...]:
    return tuple(work / p for p in images)
