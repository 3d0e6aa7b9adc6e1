"""Page layout rules on hand-made blocks: running heads, columns, headings, chunks, language, panel grids."""

from __future__ import annotations

import numpy as np
import pytest

from remud_gen.extract.chunks import Para, make_chunks
from remud_gen.extract.headings import assign_sections
from remud_gen.extract.layout import mark_margins, reading_order
from remud_gen.extract.model import Block, Line, join_lines
from remud_gen.extract.panels import split_panels
from remud_gen.extract.ultrasound import keyword_bias, ultrasound_score


def blk(
    text: str, box: tuple[float, float, float, float], page: int = 1, size: float = 10, bold: bool = False
) -> Block:
    return Block(lines=[Line(text=text, bbox=box, size=size, bold=bold)], page=page)


def test_running_heads_and_page_numbers_are_margins() -> None:
    pages = []
    for n in range(1, 6):
        pages.append(
            [
                blk(f"J. Imaging 2022, 8, 140 {n} of 12", (50, 30, 500, 40), n),
                blk("Body text that differs on every page " * (n % 3 + 1), (50, 100, 500, 400), n),
                blk(str(n + 100), (290, 800, 305, 810), n),
                blk("Figure 3 at the very bottom is not repeated", (50, 790, 400, 800), n) if n == 2 else None,
            ]
        )
    pages = [[b for b in p if b] for p in pages]
    mark_margins(pages, [842.0] * 5)
    roles = [(b.text[:10], b.role) for b in pages[1]]
    assert roles == [("J. Imaging", "margin"), ("Body text ", "body"), ("102", "margin"), ("Figure 3 a", "body")]


def test_two_columns_are_read_column_by_column() -> None:
    filler = " and some running text" * 4
    blocks = [
        blk("R1" + filler, (310, 100, 550, 200)),
        blk("L1" + filler, (50, 100, 290, 200)),
        blk("Title across", (50, 60, 550, 80)),
        blk("L2" + filler, (50, 210, 290, 300)),
        blk("R2" + filler, (310, 210, 550, 300)),
        blk("Wide figure caption", (50, 320, 550, 340)),
        blk("L3" + filler, (50, 350, 290, 400)),
        blk("R3" + filler, (310, 350, 550, 400)),
    ]
    order = [b.text.split()[0] if b.text.endswith("text") else b.text for b in reading_order(blocks, 595)]
    assert order == ["Title across", "L1", "L2", "R1", "R2", "Wide figure caption", "L3", "R3"]


def test_a_centred_title_is_not_a_column() -> None:
    blocks = [blk("第二节 肾脏疾病", (57, 106, 162, 121)), blk("第十六章 泌尿系统", (221, 72, 373, 90))]
    assert [b.text for b in reading_order(blocks, 595)] == ["第十六章 泌尿系统", "第二节 肾脏疾病"]


def test_heading_paths_follow_numbering_and_font_size() -> None:
    long = "This paragraph is long enough to be body text that a heading introduces, and it goes on. " * 2
    blocks = [
        blk("第十六章 泌尿系统", (50, 50, 300, 70), size=16, bold=True),
        blk("第二节 肾脏疾病", (50, 80, 300, 95), size=13, bold=True),
        blk(long, (50, 100, 500, 150)),
        blk("16-2-1 肾脏增大", (50, 160, 300, 172), bold=True),
        blk(long, (50, 180, 500, 230)),
        blk("Original ShrapML", (60, 240, 150, 250), bold=True),
        blk("0.97", (160, 240, 200, 250), bold=True),
        blk("2.5. Model Training Overview", (50, 260, 300, 272), size=12),
        blk(long, (50, 280, 500, 330)),
    ]
    assign_sections(blocks, 10.0, None)
    assert blocks[2].section == ["第十六章 泌尿系统", "第二节 肾脏疾病"]
    assert blocks[4].section == ["第十六章 泌尿系统", "第二节 肾脏疾病", "16-2-1 肾脏增大"]
    assert blocks[5].role == "body" and blocks[6].role == "body"  # bold table cells are not headings
    assert blocks[8].section == ["第十六章 泌尿系统", "2.5. Model Training Overview"]


def test_chunks_respect_size_chapters_and_cite_figures() -> None:
    sentence = "The kidney is enlarged as shown in Figure 2. "
    paras = [Para(sentence * 10, 1, ["Ch 1"]), Para(sentence * 30, 2, ["Ch 1", "1.1"]), Para("Short.", 3, ["Ch 2"])]
    chunks = make_chunks(paras, doc="d.pdf", prefix="abc", language="en", size=600, overlap=80)
    assert [c.chunk_id for c in chunks] == [f"abc-c{i}" for i in range(len(chunks))]
    assert all(len(c.text) <= 600 + 80 for c in chunks)
    assert chunks[-1].section == ["Ch 2"] and chunks[-1].text == "Short."  # a chapter change closes the chunk
    assert all(c.section[:1] == ["Ch 1"] for c in chunks[:-1])
    assert any(c.page_start == 1 and c.page_end == 2 for c in chunks) or chunks[1].page_start == 2
    assert all(c.figure_refs == ["2"] for c in chunks[:-1])
    text = " ".join(c.text for c in chunks[:-1])
    assert text.count("enlarged") >= 40  # nothing lost (overlap may repeat a little)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["ultra-", "sound image"], "ultrasound image"),
        (["B-mode", "image"], "B-mode image"),
        (["肾脏体积", "增大"], "肾脏体积增大"),
        (["Figure 1.", "Title"], "Figure 1. Title"),
    ],
)
def test_join_lines(lines: list[str], expected: str) -> None:
    assert join_lines(lines) == expected


def _grid(rows: int, cols: int, gutter: int, bg: int, bar: bool = False) -> np.ndarray:
    rng = np.random.default_rng(0)
    cell_h, cell_w = 120, 160
    h = rows * cell_h + (rows + 1) * gutter
    w = cols * (cell_w + (24 if bar else 0)) + (cols + 1) * gutter
    img = np.full((h, w, 3), bg, np.uint8)
    for r in range(rows):
        for c in range(cols):
            y = gutter + r * (cell_h + gutter)
            x = gutter + c * (cell_w + gutter + (24 if bar else 0))
            img[y : y + cell_h, x : x + cell_w] = rng.integers(20, 200, (cell_h, cell_w, 1), dtype=np.uint8)
            if bar:  # a colour bar a few pixels right of the plot, as in confusion-matrix panels
                img[y + 10 : y + cell_h - 10, x + cell_w + 6 : x + cell_w + 16] = (40, 140, 40)
    return img


@pytest.mark.parametrize(
    ("rows", "cols", "gutter", "bg", "bar", "n", "ok"),
    [
        (2, 3, 6, 255, False, 6, True),  # white gutters
        (2, 2, 4, 0, False, 4, True),  # black gutters between frames
        (1, 2, 8, 255, True, 2, True),  # colour bars stay with their plot
        (2, 3, 6, 255, False, 4, False),  # caption names 4 panels, image shows 6: left whole
        (1, 1, 6, 255, False, 2, False),  # one picture cannot be two panels
    ],
)
def test_split_panels(rows: int, cols: int, gutter: int, bg: int, bar: bool, n: int, ok: bool) -> None:
    cells = split_panels(_grid(rows, cols, gutter, bg, bar), n)
    assert (cells is not None) is ok
    if cells:
        widths = [x1 - x0 for x0, _, x1, _ in cells]
        assert len(cells) == n and max(widths) - min(widths) <= 2
        assert cells == sorted(cells, key=lambda c: (c[1] // 50, c[0]))  # reading order


def test_ultrasound_score_rejects_flat_and_colour_drawings() -> None:
    # Real frames, MRI/CT and photographs are judged in test_extract_ultrasound.py; these are the trivial negatives.
    flat = np.full((200, 300, 3), 255, np.uint8)
    flat[50:150, 50:250] = (90, 90, 90)
    colour = np.zeros((200, 300, 3), np.uint8)
    colour[..., 0] = 220
    colour[:, 150:, 2] = 200
    assert ultrasound_score(flat) < 0.2
    assert ultrasound_score(colour) < 0.2
    # Caption words only nudge: "echocardiography" cannot make a flat diagram ultrasound.
    assert ultrasound_score(flat, "Application of AI in echocardiography") < 0.5


@pytest.mark.parametrize(
    ("caption", "sign"),
    [
        ("B-mode ultrasound of the liver", 1),
        ("肝囊肿声像图", 1),
        ("CDFI显示血流", 1),
        ("Axial CT image", -1),
        ("示意图", -1),
    ],
)
def test_keyword_bias(caption: str, sign: int) -> None:
    assert np.sign(keyword_bias(caption)) == sign
