"""Page images as inputs: a JPG/PNG of a whole page is a scanned page, a picture stays one figure."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pymupdf
import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from remud_gen.cli import app
from remud_gen.extract.pageimages import book_name, looks_like_page, page_books, page_dpi

PAGES = [
    ("zh_scanned/mineru_small_ocr_zh_book_8p.pdf", 0, 100),
    ("zh_scanned/mineru_scanned_zh_book_ccitt_strips.pdf", 1, 150),
    ("zh_scanned/mineru_complex_layout_zh_magazine_imageonly.pdf", 0, 72),
    ("en_papers/snider2022_SciRep_US_ccby.pdf", 7, 100),
    ("en_papers/kerdegari2021_ApplSci_lungUS_ccby.pdf", 1, 200),
]


def _page_jpeg(path: Path, page: int, dpi: int, out: Path) -> Path:
    with pymupdf.open(path) as doc:
        pix = doc[page].get_pixmap(dpi=dpi, colorspace=pymupdf.csRGB, alpha=False)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (pix.width, pix.height), pix.samples).save(buffer, "JPEG", quality=85)
    out.write_bytes(buffer.getvalue())
    return out


@pytest.mark.parametrize(("name", "page", "dpi"), PAGES)
def test_real_page_renders_are_pages(corpus: Path, tmp_path: Path, name: str, page: int, dpi: int) -> None:
    image = _page_jpeg(corpus / name, page, dpi, tmp_path / "page.jpg")
    assert looks_like_page(image)


def test_pictures_are_not_pages(corpus: Path, tmp_path: Path) -> None:
    pictures = sorted((corpus / "ultrasound_images").glob("*.png"))
    # Figures of the papers, as their own images: charts, diagrams, frames (portrait ones included).
    with pymupdf.open(corpus / "en_papers" / "boice2022_JImaging_US_panels_ccby.pdf") as doc:
        for xref in (84, 116, 131, 151):
            pix = pymupdf.Pixmap(doc, xref)
            if pix.alpha or pix.n > 3:
                pix = pymupdf.Pixmap(pymupdf.csRGB, pix)
            path = tmp_path / f"figure_{xref}.png"
            pix.save(path)
            pictures.append(path)
    assert [p.name for p in pictures if looks_like_page(p)] == []


def test_numbered_pages_of_a_folder_are_one_book(tmp_path: Path) -> None:
    files = [tmp_path / n for n in ("scan-10.jpg", "scan-9.jpg", "scan-11.jpg", "cover.jpg", "other_1.png")]
    files, books = page_books(files, "page")
    assert books[tmp_path / "scan-9.jpg"] == tuple(tmp_path / f"scan-{n}.jpg" for n in (9, 10, 11))
    assert book_name(books[tmp_path / "scan-9.jpg"]) == "scan-9-11.jpg"
    assert books[tmp_path / "cover.jpg"] == (tmp_path / "cover.jpg",)
    assert sorted(p.name for p in files) == ["cover.jpg", "other_1.png", "scan-9.jpg"]
    assert page_books(files, "figure") == (files, {})


def test_page_dpi_trusts_a_plausible_record_only(tmp_path: Path) -> None:
    for dpi, expected in ((100, 100), (72, 95)):  # 1000 px at 72 dpi would be a 14-inch page: read from its size
        path = tmp_path / f"p{dpi}.jpg"
        Image.new("RGB", (727, 1000), "white").save(path, dpi=(dpi, dpi))
        assert page_dpi(path) == expected


def test_page_jpegs_extract_as_one_scanned_book_beside_a_picture(corpus: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for k in range(2):
        _page_jpeg(corpus / "zh_scanned" / "mineru_small_ocr_zh_book_8p.pdf", k, 100, folder / f"book_{k + 1:03d}.jpg")
    shutil.copy(corpus / "ultrasound_images" / "busi_benign_1.png", folder / "frame.png")
    work = tmp_path / "work"
    result = CliRunner().invoke(app, ["extract", str(folder), "-o", str(work), "--workers", "1"])
    assert result.exit_code == 0, result.output
    documents = {d["doc"]: d for d in map(json.loads, (work / "extract" / "documents.jsonl").read_text().splitlines())}
    assert set(documents) == {"book_001-002.jpg", "frame.png"}
    book = documents["book_001-002.jpg"]
    assert (book["kind"], book["pages"], book["scanned_pages"]) == ("page-images", 2, 2)
    assert book["chunks"] >= 1 and documents["frame.png"]["kind"] == "image"
    chunks = [json.loads(line) for line in (work / "extract" / "chunks.jsonl").read_text().splitlines()]
    assert any(c["doc"] == "book_001-002.jpg" and c["page_end"] == 2 for c in chunks)


def test_images_figure_keeps_every_image_one_figure(corpus: Path, tmp_path: Path) -> None:
    page = _page_jpeg(corpus / "zh_scanned" / "mineru_small_ocr_zh_book_8p.pdf", 0, 100, tmp_path / "p_1.jpg")
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"extract": {"images": "figure"}}))
    work = tmp_path / "work"
    result = CliRunner().invoke(app, ["extract", str(page), "-o", str(work), "-c", str(config), "--workers", "1"])
    assert result.exit_code == 0, result.output
    (figure,) = [json.loads(line) for line in (work / "extract" / "figures.jsonl").read_text().splitlines()]
    assert figure["source"] == "image-file" and figure["doc"] == "p_1.jpg"
