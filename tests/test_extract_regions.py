"""Figure regions on page images: real ultrasound frames pasted into atlas-like pages, then degraded like scans.

Each synthetic page holds a colour banner, grey heading bars with text, body text lines and grids of BUSI frames
separated by thin white gutters; the truth is where the frames were pasted. OCR is off here (it is slow and
tested in test_extract_scanned.py), so these tests also hold for `analyse_page(..., ocr=False)`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pymupdf
import pytest
from PIL import Image, ImageDraw, ImageFont

from remud_gen.extract.model import BBox
from remud_gen.extract.scanned import analyse_page
from remud_gen.extract.seams import split_seams

PAGE = (1240, 1754)  # A4 at 150 dpi
Rect = tuple[float, float, float, float]


@dataclass(frozen=True)
class Grid:
    rows: int
    cols: int
    size: tuple[int, int]  # frame width, height
    gutter: int
    letters: bool  # a panel letter under each frame


@dataclass(frozen=True)
class Page:
    image: np.ndarray
    frames: list[Rect]
    decorations: list[Rect]


LAYOUTS = {
    "2x2 square frames, 6 px gutters": [Grid(2, 2, (300, 300), 6, False), Grid(1, 3, (260, 200), 6, True)],
    "three stacked rows, 4 px gutters": [Grid(3, 2, (330, 240), 4, False)],
    "3x4 thumbnails under a 2x1": [Grid(1, 2, (420, 320), 8, True), Grid(3, 4, (200, 150), 10, False)],
}


def _iou(a: Rect, b: Rect) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def _overlap(box: Rect, of: Rect) -> float:
    """Fraction of `of` covered by `box`."""
    ix = max(0.0, min(box[2], of[2]) - max(box[0], of[0]))
    iy = max(0.0, min(box[3], of[3]) - max(box[1], of[1]))
    return ix * iy / ((of[2] - of[0]) * (of[3] - of[1]))


def _text(draw: ImageDraw.ImageDraw, x: int, y: int, rng: np.random.Generator, width: int) -> None:
    font = ImageFont.load_default(size=22)
    words = ["echo", "renal", "cortex", "hypoechoic", "lesion", "margin", "Doppler", "the", "of", "with"]
    line = " ".join(rng.choice(words, size=40))
    while draw.textlength(line, font=font) > width:
        line = line[: line.rfind(" ")]
    draw.text((x, y), line, fill=(20, 20, 20), font=font)


def build_page(frames: list[Path], grids: list[Grid], seed: int) -> Page:
    """An atlas page: banner, heading bar, text, then each grid under its own heading bar."""
    rng = np.random.default_rng(seed)
    page = Image.new("RGB", PAGE, "white")
    draw = ImageDraw.Draw(page)
    heading = ImageFont.load_default(size=30)
    margin, width = 90, PAGE[0] - 180
    truth: list[Rect] = []
    decorations: list[Rect] = [(margin, 50, margin + width, 120)]
    draw.rectangle(decorations[0], fill=(36, 96, 168))
    draw.text((margin + 20, 65), "CHAPTER 16  URINARY SYSTEM", fill="white", font=heading)
    y = 150
    for _ in range(3):
        _text(draw, margin, y, rng, width)
        y += 34
    picks = iter(rng.permutation(len(frames) * 8) % len(frames))
    for number, grid in enumerate(grids, start=1):
        bar = (margin, y + 10, margin + width, y + 58)
        decorations.append(bar)
        draw.rectangle(bar, fill=(200, 200, 200))
        draw.text((margin + 12, y + 18), f"16-2-{number} Renal cyst", fill="black", font=heading)
        y = bar[3] + 16
        fw, fh = grid.size
        x0 = margin + (width - grid.cols * fw - (grid.cols - 1) * grid.gutter) // 2
        for row in range(grid.rows):
            for col in range(grid.cols):
                frame = Image.open(frames[next(picks)]).convert("RGB").resize((fw, fh))
                if rng.random() < 0.5:
                    frame = frame.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
                left = x0 + col * (fw + grid.gutter)
                page.paste(frame, (left, y))
                truth.append((left, y, left + fw, y + fh))
                if grid.letters:
                    draw.text((left + fw // 2 - 8, y + fh + 4), "ABCDEFGH"[row * grid.cols + col], "black", heading)
            y += fh + (40 if grid.letters else grid.gutter)
        for _ in range(2):
            _text(draw, margin, y + 8, rng, width)
            y += 34
        y += 10
    assert y < PAGE[1], "layout does not fit the page"
    return Page(np.asarray(page), truth, decorations)


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


def _skew(page: Page, degrees: float) -> Page:
    """Rotate about the centre as a skewed scan would; truth becomes each rotated frame's bounding box."""
    image = Image.fromarray(page.image).rotate(degrees, resample=Image.Resampling.BICUBIC, fillcolor="white")
    cx, cy, theta = PAGE[0] / 2, PAGE[1] / 2, math.radians(-degrees)

    def turn(box: Rect) -> Rect:
        xs, ys = [], []
        for x, y in ((box[0], box[1]), (box[2], box[1]), (box[0], box[3]), (box[2], box[3])):
            xs.append(cx + (x - cx) * math.cos(theta) - (y - cy) * math.sin(theta))
            ys.append(cy + (x - cx) * math.sin(theta) + (y - cy) * math.cos(theta))
        return (min(xs), min(ys), max(xs), max(ys))

    return Page(np.asarray(image), [turn(b) for b in page.frames], [turn(b) for b in page.decorations])


def _scan_noise(page: Page, seed: int) -> Page:
    """Cream paper, uneven lighting, sensor noise and JPEG artefacts."""
    rng = np.random.default_rng(seed)
    image = page.image.astype(np.float32) * np.array([0.93, 0.89, 0.82])
    shading = np.linspace(-10, 6, PAGE[0], dtype=np.float32)[None, :, None]
    image = image + shading + rng.normal(0, 6, image.shape)
    return Page(_jpeg(np.clip(image, 0, 255).astype(np.uint8), 45), page.frames, page.decorations)


def _strip_seams(page: Page) -> Page:
    """Seams every 35 rows, as where the strips of a CCITT scan meet: white hairlines, some 2 px half-white."""
    image = page.image.astype(np.float32)
    for k, y in enumerate(range(35, PAGE[1] - 1, 35)):
        if k % 3 == 2:
            image[y : y + 2] = (image[y : y + 2] + 255) / 2
        else:
            image[y] = 255
    return Page(image.astype(np.uint8), page.frames, page.decorations)


def _grey(page: Page) -> Page:
    grey = np.asarray(Image.fromarray(page.image).convert("L").convert("RGB"))
    return Page(grey, page.frames, page.decorations)


VARIANTS = {
    "clean": lambda page, seed: page,
    "scan noise + JPEG": _scan_noise,
    "skewed 0.8 degrees": lambda page, seed: _skew(page, 0.8),
    "strip seams": lambda page, seed: _strip_seams(page),
    "grey, skewed -0.5": lambda page, seed: _grey(_skew(page, -0.5)),
}


@pytest.fixture(scope="module")
def busi(corpus: Path) -> list[Path]:
    frames = sorted((corpus / "ultrasound_images").glob("busi_*.png"))
    if not frames:
        pytest.skip("no BUSI frames in the corpus")
    return frames


def _analysed(busi: list[Path], layouts: dict[str, list[Grid]]) -> Iterator[tuple[str, Page, list[BBox]]]:
    """Every layout in every scan degradation: (its name, the page, the boxes page analysis found; no OCR)."""
    for seed, (layout, grids) in enumerate(layouts.items()):
        base = build_page(busi, grids, seed)
        for variant, degrade in VARIANTS.items():
            page = degrade(base, seed)
            yield f"{layout} / {variant}", page, analyse_page(page.image, ocr=False).figures


def _missed(where: str, page: Page, boxes: list[BBox]) -> list[str]:
    """The page's frames that no box covers at IoU >= 0.8."""
    missed = []
    for truth in page.frames:
        best = max((_iou(truth, box) for box in boxes), default=0.0)
        if best < 0.8:
            missed.append(f"{where}: frame {truth} best IoU {best:.2f}")
    return missed


def test_frames_found_and_decorations_ignored(busi: list[Path]) -> None:
    total = 0
    missed: list[str] = []
    spurious: list[str] = []
    for where, page, boxes in _analysed(busi, LAYOUTS):
        total += len(page.frames)
        missed += _missed(where, page, boxes)
        spurious += [
            f"{where}: {box} is no frame"
            for box in boxes
            if not any(_iou(truth, box) >= 0.5 for truth in page.frames)
            or any(_overlap(box, bar) > 0.3 for bar in page.decorations)
        ]
    assert total - len(missed) >= 0.95 * total, "\n".join(missed)
    assert spurious == []


ABUTTING = {
    "two frames edge to edge, letters under them": [Grid(1, 2, (330, 250), 0, True)],
    "three frames stacked edge to edge": [Grid(3, 1, (360, 270), 0, False)],
    "2x2 frames with no gutters": [Grid(2, 2, (300, 230), 0, False)],
    "three frames in a row edge to edge": [Grid(1, 3, (300, 260), 0, True)],
}


def test_frames_pasted_edge_to_edge_are_split_at_their_seams(busi: list[Path]) -> None:
    """No gutter at all: frames are told apart where one picture stops and the next begins (no OCR here)."""
    total = 0
    missed: list[str] = []
    for where, page, boxes in _analysed(busi, ABUTTING):
        total += len(page.frames)
        missed += _missed(where, page, boxes)
        assert len(boxes) <= len(page.frames), f"{where}: a frame was cut in pieces: {boxes}"
    assert total - len(missed) >= 0.95 * total, "\n".join(missed)


def test_split_gutters_hold_even_with_stacked_identical_frames(busi: list[Path]) -> None:
    """The same frame tiled with a 3 px gutter: content cannot tell the tiles apart, only the gutter can."""
    tile = np.asarray(Image.open(busi[0]).convert("RGB"))
    page = np.full((1000, 800, 3), 255, dtype=np.uint8)
    truth = []
    for row in range(3):
        top = 100 + row * (256 + 3)
        page[top : top + 256, 100:356] = tile
        page[top : top + 256, 359:615] = tile
        truth += [(100, top, 356, top + 256), (359, top, 615, top + 256)]
    boxes = analyse_page(page, ocr=False).figures
    assert len(boxes) == 6
    assert all(max(_iou(t, b) for b in boxes) >= 0.9 for t in truth)


def _photo(image: Image.Image) -> Image.Image:
    """A smooth colour gradient with grain, like a photograph."""
    pixels = np.asarray(image).astype(np.float32)
    ramp = np.linspace(0, 120, 500, dtype=np.float32)[None, :, None]
    grain = np.random.default_rng(0).normal(0, 20, (400, 500, 3))
    pixels[300:700, 200:700] = np.array([150, 90, 60]) + ramp + grain
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _sketch(image: Image.Image) -> Image.Image:
    """A line drawing: an outline, a few strokes and a label."""
    draw = ImageDraw.Draw(image)
    draw.ellipse((200, 300, 700, 700), outline="black", width=3)
    draw.line((260, 420, 640, 380), fill="black", width=2)
    draw.arc((330, 450, 570, 650), 20, 300, fill="black", width=3)
    return image


@pytest.mark.parametrize("make", [_photo, _sketch], ids=["photograph", "line drawing"])
def test_pictures_that_are_not_ultrasound_are_still_regions(make: object) -> None:
    image = make(Image.new("RGB", (1000, 1400), "white"))  # type: ignore[operator]
    boxes = analyse_page(np.asarray(image), ocr=False).figures
    assert len(boxes) == 1, boxes
    assert _iou(boxes[0], (200, 300, 700, 700)) >= 0.9


@pytest.mark.parametrize(
    "doc",
    ["zh_scanned/mineru_scanned_zh_book_ccitt_strips.pdf", "zh_scanned/mineru_small_ocr_zh_book_8p.pdf"],
)
def test_text_only_scans_have_no_figures(corpus: Path, doc: str) -> None:
    with pymupdf.open(corpus / doc) as pdf:
        pix = pdf[0].get_pixmap(dpi=150, colorspace=pymupdf.csRGB, alpha=False)
    image = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, 3)
    assert analyse_page(image, ocr=False).figures == []


def test_sample_atlas_rasterised(busi: list[Path], tmp_path: Path) -> None:
    """The project's own atlas generator with the real frames, as an image-only PDF and as strips."""
    sample = pytest.importorskip("samplegen", reason="samplegen is not available yet")
    truth = sample.atlas_with_frames(busi, tmp_path, seed=3)
    (pdf,) = truth.pdfs
    found = total = 0
    extra: list[str] = []
    for copy in (sample.rasterize_pdf(pdf, tmp_path / "raster.pdf"), sample.strip_pdf(pdf, tmp_path / "strip.pdf")):
        with pymupdf.open(copy) as doc:
            for number, page in enumerate(doc, start=1):
                pix = page.get_pixmap(dpi=150, colorspace=pymupdf.csRGB, alpha=False)
                image = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, 3)
                boxes = [tuple(v * 72 / 150 for v in box) for box in analyse_page(image, ocr=False).figures]
                panels = [p for p in truth.panels if p.page == number]
                for panel in (p for p in panels if p.is_ultrasound):
                    total += 1
                    found += max((_iou(tuple(panel.bbox), b) for b in boxes), default=0.0) >= 0.8
                extra += [
                    f"{copy.name} p{number} {b}" for b in boxes if not any(_overlap(b, p.bbox) > 0 for p in panels)
                ]
    assert total > 0
    assert found >= 0.95 * total
    assert extra == []


def _single_frames(busi: list[Path]) -> list[np.ndarray]:
    frames = [np.asarray(Image.open(path).convert("RGB")) for path in busi]
    sample = pytest.importorskip("samplegen", reason="samplegen is not available yet")
    for seed, (organ, lesion) in enumerate([("kidney", "stone"), ("liver", "mass"), ("breast", "cyst")]):
        frames.append(np.asarray(sample.speckle_frame(400, 300, seed, organ=organ, lesion=lesion).convert("RGB")))
        frames.append(np.asarray(sample.colour_doppler_frame(400, 300, seed, organ=organ, mode="linear")))
    return frames


def test_one_frame_is_never_cut_at_a_shadow_or_a_tissue_layer(busi: list[Path]) -> None:
    """Acoustic shadows (vertical) and fascia (horizontal) are straight edges inside one frame, not seams."""
    cut: list[str] = []
    for index, frame in enumerate(_single_frames(busi)):
        for width, height in ((300, 300), (420, 320), (200, 150), (300, 600), (600, 300)):
            for flip in (False, True):
                image = np.asarray(Image.fromarray(frame).resize((width, height)))
                gray = np.ascontiguousarray(np.asarray(Image.fromarray(image[:, ::-1] if flip else image).convert("L")))
                pieces = split_seams(gray, (0, 0, width, height), 30)
                if len(pieces) > 1:
                    cut.append(f"frame {index} at {width}x{height}{' flipped' if flip else ''}: {pieces}")
    assert cut == []
