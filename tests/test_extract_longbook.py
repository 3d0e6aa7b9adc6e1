"""What keeps extract's memory flat on long books: pass-1 text on disk, settled blocks, figures streamed to a sink."""

from __future__ import annotations

import json
from pathlib import Path

from remud_gen.extract import ExtractSettings, process_file
from remud_gen.extract.headings import heading_level
from remud_gen.extract.model import Block, Graphic, Line
from remud_gen.extract.pages import PageData
from remud_gen.extract.pagestore import PageStore
from remud_gen.extract.stage import run
from remud_gen.records import Figure
from remud_gen.workdir import WorkDir
from samplegen import write_sample


def _page(number: int, texts: list[str], head: str = "Running head") -> PageData:
    blocks = [Block([Line(head, (50, 20, 300, 30))], page=number)]
    blocks += [
        Block([Line(t, (50, 100 + 20 * i, 500, 115 + 20 * i), size=10.5)], page=number) for i, t in enumerate(texts)
    ]
    return PageData(number=number, size=(595.0, 842.0), blocks=blocks, rasters=[Graphic((50, 400, 300, 600), "raster")])


def test_the_store_gives_each_pages_blocks_back_and_counts_what_the_analysis_needs() -> None:
    pages = [_page(1, ["肾脏位于腹膜后", "Kidney"]), _page(2, []), _page(3, ["超声声像图显示"])]
    pages[1].blocks = []
    expected = {p.number: list(p.blocks) for p in pages}
    with PageStore() as store:
        for p in pages:
            store.add(p)
        assert all(p.blocks == [] for p in store.pages)  # the text lives on disk now
        assert [p.rasters for p in store.pages] == [p.rasters for p in pages]
        for number, blocks in expected.items():
            assert store.blocks(number) == blocks
            assert store.blocks(number) is not store.blocks(number)  # a fresh copy each time
            assert store.has_text(number) == bool(blocks)
        assert store.band_texts["running head"] == 2  # once per page that has text
        assert store.font_sizes[10.5] == len("肾脏位于腹膜后Kidney超声声像图显示")
        assert store.language("auto") == "zh"
        assert store.language("en") == "en"


def test_a_settled_block_reads_as_the_block_it_folds() -> None:
    lines = [
        Line(f"Line {i} of a short heading-like block", (50, 100 + 12 * i, 300, 110 + 12 * i), 14, True)
        for i in range(4)
    ]
    block = Block(lines, page=3, role="body")
    settled = block.settled()
    assert len(settled.lines) == 1
    assert (settled.text, settled.bbox, settled.size, settled.bold) == (block.text, block.bbox, block.size, block.bold)
    assert settled.line_count == block.line_count == 4
    ranks = {14.0: 1}
    assert heading_level(settled, 10.0, ranks) == heading_level(block, 10.0, ranks) is None  # four lines: no heading
    two = Block(lines[:2], page=3).settled()
    assert heading_level(two, 10.0, ranks) == heading_level(Block(lines[:2], page=3), 10.0, ranks) is not None


def test_a_sink_takes_every_figure_as_it_is_rendered(tmp_path: Path) -> None:
    pdf = write_sample(tmp_path / "sample", seed=0).pdfs[0]
    whole = process_file(pdf, tmp_path / "a", ExtractSettings())
    streamed: list[Figure] = []
    result = process_file(pdf, tmp_path / "b", ExtractSettings(), sink=streamed.append)
    assert result.figures == []
    assert streamed == whole.figures and len(streamed) >= 5
    assert result.document.figures == whole.document.figures == len(streamed)
    assert result.chunks == whole.chunks


def test_the_stage_writes_what_process_file_returns_through_its_cache(tmp_path: Path) -> None:
    pdfs = write_sample(tmp_path / "sample", seed=1).pdfs
    work = WorkDir(tmp_path / "work")
    report = run(work, pdfs, ExtractSettings(), workers=1)
    assert report.failures == 0
    out = tmp_path / "work" / "extract"
    figures = [json.loads(line) for line in (out / "figures.jsonl").read_text().splitlines()]
    expected = [
        f.model_dump(mode="json") for pdf in pdfs for f in process_file(pdf, tmp_path / "x", ExtractSettings()).figures
    ]
    assert figures == expected
    caches = list((out / "docs").iterdir())
    assert len(caches) == len(pdfs)
    for cache in caches:  # JSONL, complete: the document line comes last
        assert "document" in json.loads(cache.read_text().splitlines()[-1])
