"""Source units: one text chunk or one figure panel, each the sole source of the requests made from it.

A unit holds only what planning and a sample's record need (ids, language, images, where it came from) and the byte
offset of its full record in WORK/extract: a 50,000-unit run kept every chunk's text and figure's context in memory
before (2.5 KB a unit as pydantic records). The record is read again, by offset, when the unit's request is built.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from remud_gen.errors import WorkDirError
from remud_gen.io import RecordReader
from remud_gen.records import Chunk, Figure, Language, SourceRef

_EMPTY_SEPARATORS = re.compile(r"[:：；;,，]\s*(?:[；;,，]\s*)+")


@dataclass(frozen=True, slots=True)
class Unit:
    """What one request is generated from."""

    unit_id: str  # the chunk_id, the figure_key, or for panels the first panel's figure_key + "+<n>"
    kind: Literal["chunk", "figure", "panels"]
    language: Language
    images: tuple[str, ...]  # paths relative to WORK
    doc: str
    page: int
    offset: int  # of its record in WORK/extract/chunks.jsonl or figures.jsonl
    figure_id: str | None = None
    panel: str | None = None  # for panels: the letters in image order joined by "+" ("A+B")
    offsets: tuple[int, ...] = ()  # for panels: each panel's record offset, in image order

    @property
    def ref(self) -> SourceRef:
        """Where a sample made from this unit came from (panels: the first panel's figure_key, every letter)."""
        if self.kind == "chunk":
            return SourceRef(doc=self.doc, page=self.page, chunk_id=self.unit_id)
        key = self.unit_id.split("+")[0]
        return SourceRef(doc=self.doc, page=self.page, figure_key=key, figure_id=self.figure_id, panel=self.panel)

    def order(self, kind: str, seed: int) -> str:
        """A stable, well-mixed sort key, so caps sample across documents instead of taking the first book."""
        return hashlib.sha256(f"{seed}:{kind}:{self.unit_id}".encode()).hexdigest()


# Units share their few distinct strings (documents, languages, images reused across panels) instead of a copy each.
_intern = sys.intern


def chunk_unit(chunk: Chunk, offset: int) -> Unit:
    return Unit(
        unit_id=chunk.chunk_id,
        kind="chunk",
        language="zh" if chunk.language == "zh" else "en",
        images=(),
        doc=_intern(chunk.doc),
        page=chunk.page_start,
        offset=offset,
    )


def figure_unit(figure: Figure, attach_page: bool, offset: int) -> Unit:
    images = (figure.image,) + ((figure.page_image,) if attach_page and figure.page_image else ())
    return Unit(
        unit_id=figure.figure_key,
        kind="figure",
        language="zh" if figure.language == "zh" else "en",
        images=tuple(_intern(p) for p in images),
        doc=_intern(figure.doc),
        page=figure.page,
        offset=offset,
        figure_id=figure.figure_id,
        panel=figure.panel,
    )


def panel_units(figures: list[Unit]) -> list[Unit]:
    """One unit per figure with two or more usable panels: all of them, in letter order (vqa-compare)."""
    groups: dict[tuple[str, str], list[Unit]] = {}
    for unit in figures:
        if unit.figure_id and unit.panel:
            groups.setdefault((unit.doc, unit.figure_id), []).append(unit)
    units = []
    for members in groups.values():
        panels = sorted({u.panel: u for u in members}.values(), key=lambda u: (u.panel or "", u.unit_id))
        if len(panels) < 2:
            continue
        first = panels[0]
        units.append(
            Unit(
                unit_id=f"{first.unit_id}+{len(panels)}",
                kind="panels",
                language=first.language,
                images=tuple(u.images[0] for u in panels),
                doc=first.doc,
                page=first.page,
                offset=first.offset,
                figure_id=first.figure_id,
                panel="+".join(u.panel or "" for u in panels),
                offsets=tuple(u.offset for u in panels),
            )
        )
    return units


def panel_group(panels: list[Figure]) -> Figure:
    """The panels of one figure as one source: the whole caption, each panel's legend numbered in image order."""
    first = panels[0]
    legends = [f"({i}) {p.panel_caption}" for i, p in enumerate(panels, 1) if p.panel_caption]
    inside = [f"({i}) {p.in_image_text}" for i, p in enumerate(panels, 1) if p.in_image_text]
    context = list(dict.fromkeys(c for p in panels for c in p.context))
    return first.model_copy(
        update={
            "panel": None,
            "panel_caption": "\n".join(legends),
            "in_image_text": "\n".join(inside),
            "context": context,
        }
    )


def group_of(figure: Figure, letters: str, figures: Iterable[Figure]) -> list[Figure]:
    """The panels named by a sample's ``panel`` ("A+B"), found beside ``figure`` (same document and figure)."""
    wanted = letters.split("+")
    same = {f.panel: f for f in figures if f.doc == figure.doc and f.figure_id == figure.figure_id and f.panel}
    return [same[p] for p in wanted if p in same]


@contextlib.contextmanager
def open_records(extract_dir: Path) -> Iterator[Callable[[Unit], Chunk | Figure]]:
    """A function from a unit to its full record, read from ``extract_dir`` while the block runs."""
    with (
        RecordReader(extract_dir / "chunks.jsonl", Chunk) as chunks,
        RecordReader(extract_dir / "figures.jsonl", Figure) as figures,
    ):

        def record(unit: Unit) -> Chunk | Figure:
            if unit.kind == "panels":
                try:
                    panels = [figures.read(o) for o in unit.offsets]
                except ValueError:
                    panels = []
                found_panels = [p for p in panels if p is not None]
                if (
                    not found_panels
                    or len(found_panels) != len(unit.offsets)
                    or unit.ref.figure_key != (found_panels[0].figure_key)
                ):
                    raise WorkDirError(f"{extract_dir} changed while synthesize was running; run synthesize again")
                return panel_group(found_panels)
            found: Chunk | Figure | None
            try:
                found = chunks.read(unit.offset) if unit.kind == "chunk" else figures.read(unit.offset)
            except ValueError:  # the offset no longer starts a record
                found = None
            if found is None or (found.chunk_id if isinstance(found, Chunk) else found.figure_key) != unit.unit_id:
                raise WorkDirError(f"{extract_dir} changed while synthesize was running; run synthesize again")
            return found

        yield record


def source_text(record: Chunk | Figure, labels: dict[str, Any], max_chars: int) -> str:
    """The text placed between <source> tags: the chunk, or a figure's caption, legend, in-image text and context."""
    if isinstance(record, Chunk):
        return record.text[:max_chars]
    fig = record
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


def has_source(record: Chunk | Figure, min_chars: int) -> bool:
    """A chunk needs enough text; a figure needs some text to be grounded in (caption, legend or context)."""
    if isinstance(record, Chunk):
        return len(record.text) >= min_chars
    return bool(record.caption or record.panel_caption or record.context)


def absolute(work: Path, images: tuple[str, ...]) -> tuple[Path, ...]:
    return tuple(work / p for p in images)
