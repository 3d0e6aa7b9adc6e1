"""Scanned pages: OCR on real Chinese book and magazine scans, reading order, and the page-image contract.

OCR is slow on a CPU, so each real page is read once per module and the engine is loaded once per process.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pymupdf
import pytest
from PIL import Image, ImageDraw, ImageFont

from remud_gen.errors import InputError
from remud_gen.extract import ocr
from remud_gen.extract.letters import missing_letters, split_by_letters
from remud_gen.extract.ocr import OcrLine, join_row
from remud_gen.extract.scanned import ScannedPage, analyse_page, reading_order

Box = tuple[float, float, float, float]


def _render(path: Path, page: int, dpi: int) -> np.ndarray:
    with pymupdf.open(path) as doc:
        pix = doc[page].get_pixmap(dpi=dpi, colorspace=pymupdf.csRGB, alpha=False)
    return np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, 3).copy()


def _position(lines: list[OcrLine], needle: str) -> int:
    """Index of the line holding `needle`; fails with the page text so a miss is easy to read."""
    for index, line in enumerate(lines):
        if needle in line.text:
            return index
    raise AssertionError(f"{needle!r} not found in:\n" + "\n".join(line.text for line in lines))


@pytest.fixture(scope="module")
def book_image(corpus: Path) -> np.ndarray:
    """Page 1 of the Chinese book made of ~50 CCITT strips: no text layer and no single page image."""
    return _render(corpus / "zh_scanned" / "mineru_scanned_zh_book_ccitt_strips.pdf", 0, 150)


@pytest.fixture(scope="module")
def book_page(book_image: np.ndarray) -> ScannedPage:
    return analyse_page(book_image)


def test_book_page_text_in_reading_order(book_page: ScannedPage) -> None:
    lines = book_page.lines
    order = [
        "商品和货币",  # running head
        "为有用物的量找到社会尺度",
        "物的有用性使物成为使用价值",
        "商品体本身，例如铁、小麦、金钢石等等",
        "交换价值首先表现为量的关系",
        "巴尔本用来表示使用价值的专门用语",  # footnote (3)
        "物的自然价值产生于它能满足需要",  # footnote (4), opens with a bold quote
        "重农学派",  # footnote (6), last line
    ]
    positions = [_position(lines, needle) for needle in order]
    assert positions == sorted(positions)
    assert book_page.figures == []
    assert all(0.5 <= line.score <= 1.0 for line in lines)


def test_book_page_boxes_are_in_page_pixels(book_page: ScannedPage) -> None:
    body = book_page.lines[_position(book_page.lines, "物的有用性使物成为使用价值")]
    x0, y0, x1, y1 = body.box
    # Measured on the 150 dpi render: the paragraph indent starts near x=225, the line ends at the text margin.
    assert 200 < x0 < 250 and 1000 < x1 < 1060 and 380 < y0 < y1 < 440


def test_analyse_page_costs_little_more_than_ocr_alone(book_image: np.ndarray) -> None:
    """Same pixels, same engine: the layout and region work must stay small next to OCR (top of the page only,
    to keep the suite fast)."""
    image = np.ascontiguousarray(book_image[:800])
    engine = ocr.engine()
    # CPU time of this process: other jobs on a shared machine slow both runs alike but would skew wall time.
    start = time.process_time()
    engine(np.ascontiguousarray(image[:, :, ::-1]))
    bare = time.process_time() - start
    start = time.process_time()
    page = analyse_page(image)
    analysed = time.process_time() - start
    assert len(page.lines) >= 10
    assert analysed <= 1.5 * bare, f"analyse_page {analysed:.2f} s vs RapidOCR alone {bare:.2f} s (CPU)"


def test_magazine_columns_and_wrap_around_illustration(corpus: Path) -> None:
    """Two columns above a rule; below it a title and a column that wraps around a drawing (jutting into the gutter)."""
    # The lower part of the page (from the last five lines of the upper columns on) keeps the test fast.
    top = 645
    image = _render(corpus / "zh_scanned" / "mineru_complex_layout_zh_magazine_imageonly.pdf", 0, 150)[top:]
    page = analyse_page(np.ascontiguousarray(image))
    lines = page.lines
    order = [
        "个人在雨里淋",  # upper left column
        "也守着我的未来",  # its last line
        "过，是因为我恨你",  # upper right column
        "妻子寂静的坟头上",
        "内心强大",  # title under the illustration
        "有个年轻人去庙里问高僧",  # lower left column
        "现实世界对我们的影响就会越来越",
        "直至忽略不计",  # continues in the right column, beside the drawing
        "海里的一滴水",
    ]
    positions = [_position(lines, needle) for needle in order]
    assert positions == sorted(positions)
    # The cartoon (a man flying over clouds) sits left of the right column, between the rule and the title.
    figures = [(x0, y0 + top, x1, y1 + top) for x0, y0, x1, y1 in page.figures]
    assert any(x0 < 450 and x1 > 650 and y0 < 950 and 1050 < y1 < 1300 for x0, y0, x1, y1 in figures)
    assert len(page.figures) == 1


def test_large_page_is_downscaled_for_ocr_and_mapped_back() -> None:
    """A 4000 px page: OCR runs at `OCR_MAX_SIDE` but boxes come back in the caller's pixels."""
    image = Image.new("RGB", (2800, 4000), "white")
    draw = ImageDraw.Draw(image)
    draw.text((400, 600), "Renal cyst with posterior enhancement", fill="black", font=ImageFont.load_default(size=90))
    frame = np.random.default_rng(1).normal(90, 40, (900, 1200, 3)).clip(0, 255).astype(np.uint8)
    image.paste(Image.fromarray(frame), (800, 1500))
    page = analyse_page(np.asarray(image))
    (line,) = page.lines
    assert line.text.replace(" ", "").lower() == "renalcystwithposteriorenhancement"
    assert abs(line.box[0] - 400) < 40 and abs(line.box[1] - 615) < 45 and line.box[3] < 760
    ((x0, y0, x1, y1),) = page.figures
    assert abs(x0 - 800) <= 4 and abs(y0 - 1500) <= 4 and abs(x1 - 2000) <= 4 and abs(y1 - 2400) <= 4


def _line(text: str, x0: float, y0: float, x1: float, y1: float) -> OcrLine:
    return OcrLine(text=text, box=(x0, y0, x1, y1), score=0.9)


def _column(prefix: str, x0: float, x1: float, top: float, count: int, pitch: float = 40) -> list[OcrLine]:
    return [_line(f"{prefix}{k}", x0, top + k * pitch, x1, top + k * pitch + 28) for k in range(count)]


ORDER_CASES = {
    "two aligned columns under a full-width title and above a footer": (
        [
            _line("title", 100, 20, 1100, 60),
            *_column("R", 620, 1100, 100, 6),
            *_column("L", 100, 580, 100, 6),
            _line("footer", 100, 400, 1100, 430),
        ],
        [],
        ["title"] + [f"L{k}" for k in range(6)] + [f"R{k}" for k in range(6)] + ["footer"],
    ),
    "a margin note is read in place, not as a column": (
        [*_column("B", 150, 1000, 100, 3), _line("note", 20, 140, 90, 168), *_column("C", 150, 1000, 220, 3)],
        [],
        ["B0", "note", "B1", "B2", "C0", "C1", "C2"],
    ),
    "a bullet crossing the gutter separates one-column and two-column parts": (
        _column("top", 100, 1000, 20, 2)
        + _column("L", 100, 540, 110, 4)
        + _column("R", 600, 1060, 110, 4)
        + [_line("bullet", 100, 275, 700, 300)]
        + _column("M", 100, 540, 320, 2)
        + _column("N", 600, 1060, 320, 2),
        [],
        ["top0", "top1", "L0", "L1", "L2", "L3", "R0", "R1", "R2", "R3", "bullet", "M0", "M1", "N0", "N1"],
    ),
    "a drawing juts into the gutter; text inside it stays with it": (
        _column("L", 100, 500, 420, 4)
        + _column("R", 560, 1000, 100, 12)
        + [_line("in-drawing label", 150, 200, 300, 228)],
        [(80, 90, 540, 400)],
        ["in-drawing label", "L0", "L1", "L2", "L3"] + [f"R{k}" for k in range(12)],
    ),
}


@pytest.mark.parametrize("case", list(ORDER_CASES), ids=list(ORDER_CASES))
def test_reading_order(case: str) -> None:
    lines, figures, expected = ORDER_CASES[case]
    assert [line.text for line in reading_order(lines, figures)] == expected


JOIN_CASES = [
    ("chinese fragments join without a space", [("超声", 0, 40), ("表现", 50, 90)], ["超声表现"]),
    ("latin fragments join with a space", [("Renal", 0, 60), ("cyst", 75, 120)], ["Renal cyst"]),
    ("a wide gap keeps a page number apart", [("12", 0, 30), ("第一篇", 300, 400)], ["12", "第一篇"]),
    ("order of input does not matter", [("cyst", 75, 120), ("Renal", 0, 60)], ["Renal cyst"]),
]


@pytest.mark.parametrize(("name", "fragments", "expected"), JOIN_CASES, ids=[c[0] for c in JOIN_CASES])
def test_join_row(name: str, fragments: list[tuple[str, float, float]], expected: list[str]) -> None:
    lines = [_line(text, x0, 100, x1, 130) for text, x0, x1 in fragments]
    assert [line.text for line in join_row(lines)] == expected


def test_lines_of_two_rows_are_not_joined() -> None:
    """A tall title beside two lines of the next column must not glue those two lines together."""
    lines = [
        _line("upper", 600, 100, 1000, 128),
        _line("lower", 600, 140, 1000, 168),
        _line("TITLE", 100, 95, 500, 170),
    ]
    assert [line.text for line in reading_order(lines)] == ["TITLE", "upper", "lower"]


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((100, 100, 3), dtype=np.float32),
        np.zeros((100, 100, 5), dtype=np.uint8),
        np.zeros((20, 100, 3), dtype=np.uint8),
        np.full((3000, 8, 3), 255, dtype=np.uint8),
        np.zeros((2, 100, 100, 3), dtype=np.uint8),
        [[0, 0], [0, 0]],
    ],
    ids=["float", "five channels", "too small", "a sliver", "a batch", "not an array"],
)
def test_bad_page_images_raise_input_error(image: object) -> None:
    """One clear line, before any OCR runs (a sliver upscaled by the detector would exhaust memory)."""
    with pytest.raises(InputError, match="page image") as raised:
        analyse_page(image)  # type: ignore[arg-type]
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "image",
    [np.full((300, 200), 255, np.uint8), np.full((300, 200, 4), 255, np.uint8), np.full((300, 200, 3), 0, np.uint8)],
    ids=["grey", "rgba", "black"],
)
def test_blank_pages_of_any_layout_are_empty(image: np.ndarray) -> None:
    assert analyse_page(image, ocr=False) == ScannedPage(lines=[], figures=[])


def test_blank_page_ocr_finds_nothing() -> None:
    assert analyse_page(np.full((400, 300, 3), 255, np.uint8)).lines == []


def test_missing_rapidocr_is_a_one_line_setup_error(monkeypatch: pytest.MonkeyPatch) -> None:
    ocr.engine.cache_clear()
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)  # makes the import fail
    try:
        with pytest.raises(InputError, match="make setup") as raised:
            analyse_page(np.full((100, 100, 3), 255, np.uint8))
        assert "\n" not in str(raised.value)
    finally:
        ocr.engine.cache_clear()


def test_read_only_buffer_from_pymupdf_is_accepted_and_left_alone(corpus: Path) -> None:
    """Callers hand over `np.frombuffer(pix.samples)`, which is read-only."""
    with pymupdf.open(corpus / "pdf_pitfalls" / "c02-22.pdf") as doc:
        pix = doc[0].get_pixmap(dpi=60, colorspace=pymupdf.csRGB, alpha=False)
    image = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, 3)
    before = image.copy()
    assert not image.flags.writeable
    page = analyse_page(image, ocr=False)
    assert np.array_equal(image, before)
    # The engraving of two boys under a tree (without OCR the ornate "Chapter II" letters may show up too).
    assert any(x0 < 40 and x1 > 140 and y0 < 60 and y1 > 300 for x0, y0, x1, y1 in page.figures)


def _frames_with_letters(frames: list[np.ndarray], letters: str, gutter: int) -> tuple[np.ndarray, list[Box]]:
    """A white page with the frames in one row (`gutter` px apart) and a letter printed under each."""
    height, width = frames[0].shape[:2]
    page = Image.new("RGB", (len(frames) * (width + gutter) + 200, height + 260), "white")
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=30)
    boxes: list[Box] = []
    for k, (frame, letter) in enumerate(zip(frames, letters, strict=True)):
        left = 100 + k * (width + gutter)
        page.paste(Image.fromarray(frame), (left, 100))
        boxes.append((left, 100, left + width, 100 + height))
        draw.text((left + width // 2 - 10, 100 + height + 12), letter, fill="black", font=font)
    return np.asarray(page), boxes


def _sector(seed: int) -> np.ndarray:
    sample = pytest.importorskip("samplegen", reason="samplegen is not available")
    return np.asarray(sample.speckle_frame(300, 240, seed).convert("RGB"))


def test_panel_letters_missed_by_page_ocr_are_read_from_the_strip_under_each_frame() -> None:
    """Given no OCR lines at all, each lone letter under a frame is found and read by the recogniser alone."""
    image, boxes = _frames_with_letters([_sector(1), _sector(2), _sector(3)], "ABC", 40)
    found = missing_letters(image, [tuple(map(int, b)) for b in boxes], [])
    assert [line.text for line in found] == ["A", "B", "C"]
    assert all(box[0] < (line.box[0] + line.box[2]) / 2 < box[2] for line, box in zip(found, boxes, strict=True))


def test_a_letter_page_ocr_already_read_is_not_read_again() -> None:
    image, boxes = _frames_with_letters([_sector(1), _sector(2)], "AB", 40)
    known = [_line("A", 240, 352, 262, 382)]
    found = missing_letters(image, [tuple(map(int, b)) for b in boxes], known)
    assert [line.text for line in found] == ["B"]


SPLIT_CASES = {
    "two letters at the centres of two equal halves": (
        [(0, 0, 600, 200)],
        [_line("A", 140, 210, 160, 230), _line("B", 440, 210, 460, 230)],
        [(0, 0, 300, 200), (300, 0, 600, 200)],
    ),
    "three letters, three equal thirds": (
        [(0, 0, 900, 200)],
        [_line("A", 140, 210, 160, 230), _line("B", 440, 210, 460, 230), _line("C", 740, 210, 760, 230)],
        [(0, 0, 300, 200), (300, 0, 600, 200), (600, 0, 900, 200)],
    ),
    "letters off the slice centres leave the region whole": (
        [(0, 0, 600, 200)],
        [_line("A", 20, 210, 40, 230), _line("B", 440, 210, 460, 230)],
        [(0, 0, 600, 200)],
    ),
    "one letter is one frame": ([(0, 0, 600, 200)], [_line("A", 290, 210, 310, 230)], [(0, 0, 600, 200)]),
    "a caption line under the region is no panel letter": (
        [(0, 0, 600, 200)],
        [_line("A B", 140, 210, 460, 230)],
        [(0, 0, 600, 200)],
    ),
}


@pytest.mark.parametrize("case", list(SPLIT_CASES), ids=list(SPLIT_CASES))
def test_split_by_letters(case: str) -> None:
    figures, lines, expected = SPLIT_CASES[case]
    assert split_by_letters(figures, lines) == expected


def test_sector_frames_abutting_are_split_by_the_letters_under_them() -> None:
    """Sector frames meet along black margins, so no seam shows; the letters under them say where to cut."""
    image, boxes = _frames_with_letters([_sector(4), _sector(5)], "AB", 0)
    page = analyse_page(image)
    assert len(page.figures) == 2, page.figures
    assert all(max(_iou(f, b) for f in page.figures) >= 0.9 for b in boxes)


def _iou(a: Box, b: Box) -> float:
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _threads() -> int:
    status = Path("/proc/self/status").read_text().splitlines()
    return int(next(line for line in status if line.startswith("Threads:")).split()[1])


def _engine_threads(cap: int) -> int:
    """Threads this process gains by loading an OCR engine with `cap` threads per model (0: no cap)."""
    ocr.limit_threads(cap)
    before = _threads()
    ocr.engine()
    return _threads() - before


@pytest.mark.skipif(not Path("/proc/self/status").exists() or (os.cpu_count() or 1) < 2, reason="needs Linux, 2+ cores")
def test_ocr_threads_can_be_capped_per_process() -> None:
    """Worker processes each load an engine: capped at one thread per model they start no thread pools."""
    try:
        capped, default = _engine_threads(1), _engine_threads(0)
    finally:
        ocr.limit_threads(0)
    assert capped < default
    assert capped <= 1
