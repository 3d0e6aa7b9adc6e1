"""Units keep only offsets into WORK/extract: each request still gets its own record, and a changed extract stops."""

from __future__ import annotations

from pathlib import Path

import pytest

from remud_gen.errors import WorkDirError
from remud_gen.io import ReadReport, write_records
from remud_gen.records import Chunk, Figure
from remud_gen.synthesize.plan import load_units
from remud_gen.synthesize.settings import SynthesizeSettings
from remud_gen.synthesize.units import open_records

CHUNKS = [
    Chunk(chunk_id=f"c{i}", doc="d.pdf", page_start=i + 1, page_end=i + 1, text=f"肝脏 {i} " * 60, language="zh")
    for i in range(3)
]
FIGURES = [
    Figure(
        figure_key="f0",
        doc="d.pdf",
        page=2,
        bbox=(0, 0, 10, 10),
        page_size=(100, 100),
        image="extract/images/a.png",
        figure_id="1",
        panel="b",
        caption="Figure 1. (a) Liver. (b) Kidney.",
        is_ultrasound=True,
    )
]


def extract(tmp_path: Path) -> Path:
    folder = tmp_path / "extract"
    write_records(folder / "chunks.jsonl", CHUNKS)
    write_records(folder / "figures.jsonl", FIGURES)
    with (folder / "chunks.jsonl").open("a", encoding="utf-8") as fh:
        fh.write('\n{"chunk_id": "broken"}\n')  # a blank line and a bad one: skipped, counted, offsets still right
    return folder


def test_each_unit_reads_back_its_own_record(tmp_path: Path) -> None:
    folder, report = extract(tmp_path), ReadReport()
    chunks, figures = load_units(folder, SynthesizeSettings(), report)
    assert len(report.bad_lines) == 1
    with open_records(folder) as record:
        assert [record(u) for u in chunks] == CHUNKS
        assert [record(u) for u in figures] == FIGURES
    assert figures[0].ref.model_dump() == {
        "doc": "d.pdf",
        "page": 2,
        "chunk_id": None,
        "figure_key": "f0",
        "figure_id": "1",
        "panel": "b",
    }


def test_an_extract_rewritten_mid_run_stops_instead_of_mixing_sources(tmp_path: Path) -> None:
    folder = extract(tmp_path)
    chunks, _ = load_units(folder, SynthesizeSettings(), ReadReport())
    write_records(folder / "chunks.jsonl", CHUNKS[1:])
    with open_records(folder) as record, pytest.raises(WorkDirError, match="changed while synthesize"):
        for unit in chunks:
            record(unit)
