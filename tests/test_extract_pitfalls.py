"""Colour and image-encoding pitfalls: crops must show what a PDF viewer shows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pymupdf
import pytest
from PIL import Image

from remud_gen.extract import ExtractSettings, process_file
from remud_gen.extract.crops import render, to_array

ROOT = Path(__file__).resolve().parents[1]
PITFALLS = ROOT.parent / "shared" / "corpus" / "pdf_pitfalls"
needs_corpus = pytest.mark.skipif(not PITFALLS.is_dir(), reason="../shared/corpus/pdf_pitfalls is not present")


def _mean(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float64).reshape(-1, 3).mean(axis=0)


@needs_corpus
def test_cmyk_jpeg_figure_keeps_its_colours(tmp_path: Path) -> None:
    """A DeviceCMYK JPEG placed in a PDF comes out with the colours PIL gives the same JPEG (not inverted)."""
    jpg = PITFALLS / "baiona_cmyk.jpg"
    pdf = tmp_path / "cmyk_photo.pdf"
    with pymupdf.open() as doc:
        page = doc.new_page(width=400, height=500)
        page.insert_image(pymupdf.Rect(50, 50, 350, 370), filename=str(jpg))
        page.insert_text((50, 400), "Figure 1. A CMYK photograph.", fontsize=10)
        doc.save(pdf)
    result = process_file(pdf, tmp_path / "work", ExtractSettings())
    assert [f.figure_id for f in result.figures] == ["1"]
    crop = tmp_path / "work" / result.figures[0].image
    assert np.abs(_mean(crop) - _mean(jpg)).max() < 6


@needs_corpus
def test_cmyk_separations_render_as_their_inks() -> None:
    """cmyk.pdf paints pure C, M and Y through text clips: the render must show cyan, magenta and yellow ink."""
    with pymupdf.open(PITFALLS / "cmyk.pdf") as doc:
        rgb = to_array(render(doc[0], None, 150, 10_000_000)).astype(int)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    assert ((r > 200) & (g < 80) & (b > 150)).sum() > 50, "magenta"
    assert ((r < 80) & (g > 130) & (b > 200)).sum() > 50, "cyan"
    assert ((r > 200) & (g > 200) & (b < 80)).sum() > 50, "yellow"


@needs_corpus
@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("masks.pdf", "soft and stencil masks: the penguin is drawn on white, not on a black box"),
        ("palette.pdf", "indexed colour: the map is in colour"),
        ("formxobject.pdf", "an image inside a Form XObject is found as an embedded figure"),
    ],
)
def test_pitfall_pages_give_sane_crops(tmp_path: Path, name: str, check: str) -> None:
    result = process_file(PITFALLS / name, tmp_path, ExtractSettings(ocr="off"))
    assert result.figures, check
    arrays = []
    for f in result.figures:
        with Image.open(tmp_path / f.image) as im:
            arrays.append(np.asarray(im.convert("RGB"), dtype=np.int16))
    biggest = max(arrays, key=lambda a: a.shape[0] * a.shape[1])
    assert biggest.std() > 20, check  # not a flat black or white box
    if name == "palette.pdf":
        chroma = biggest.max(axis=2) - biggest.min(axis=2)
        assert (chroma > 60).mean() > 0.05, check
    if name == "masks.pdf":
        penguin = [a for a in arrays if a.shape[0] > a.shape[1] * 0.8 and a.shape[0] < a.shape[1] * 1.6]
        assert penguin and max(float(a.mean()) for a in penguin) > 150, check
    if name == "formxobject.pdf":
        assert result.document.scanned_pages == 0
        assert result.figures[0].source == "embedded"


@needs_corpus
@pytest.mark.parametrize("name", ["jbig2.pdf", "ccitt.pdf", "c02-22.pdf", "skew.pdf"])
def test_image_only_pages_render_black_on_white(name: str) -> None:
    """JBIG2, CCITT and ICC-JPEG scans decode to a light page with dark print (never inverted, never blank)."""
    with pymupdf.open(PITFALLS / name) as doc:
        grey = to_array(render(doc[0], None, 72, 10_000_000)).mean(axis=2)
    assert np.median(grey) > 150
    assert (grey < 100).mean() > 0.005


def test_page_render_kept_only_when_asked(tmp_path: Path) -> None:
    pdf = tmp_path / "one.pdf"
    with pymupdf.open() as doc:
        page = doc.new_page(width=300, height=300)
        pix = pymupdf.Pixmap(pymupdf.csRGB, 64, 48, bytes(range(256)) * 36, False)
        page.insert_image(pymupdf.Rect(40, 40, 260, 205), pixmap=pix)
        page.insert_text((40, 225), "Figure 1. Grey ramp.", fontsize=10)
        doc.save(pdf)
    plain = process_file(pdf, tmp_path / "a", ExtractSettings()).figures[0]
    kept = process_file(pdf, tmp_path / "b", ExtractSettings(keep_page_images=True)).figures[0]
    assert plain.page_image is None
    assert kept.page_image is not None and (tmp_path / "b" / kept.page_image).is_file()
    assert kept.image == plain.image  # same pixels, same content-addressed name
