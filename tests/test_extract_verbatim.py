"""A JPEG is stored as its own bytes only when the page shows it untouched; everything else is rendered.

Each case builds a one-page PDF by hand (one JPEG image XObject, a content stream written out in full) and asks
`verbatim_jpegs` whether the placement may keep its bytes. The end-to-end tests check that such a crop matches a
render of its box, and that arrows and labels drawn over a picture always reach the crop.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pymupdf
import pytest
from PIL import Image, ImageCms

from remud_gen.extract import ExtractSettings, process_file
from remud_gen.extract.verbatim import verbatim_jpegs

W, H = 160, 120  # image pixels
PLACE = "200 0 0 150 50 100 cm"  # the image at x 50-250, y 100-250 (PDF space: y up); on the page y 542-692
FONT = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def _jpeg(mode: str = "RGB", **save: object) -> bytes:
    """A speckled picture with a dark sector, like an ultrasound frame."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:H, 0:W]
    base = 40 + 150 * np.exp(-((xx - W / 2) ** 2 + (yy - H / 2) ** 2) / (2 * 35.0**2))
    grey = np.clip(base * rng.gamma(2.0, 0.5, (H, W)), 0, 255).astype(np.uint8)
    img = Image.fromarray(np.stack([grey, grey, (grey * 0.8).astype(np.uint8)], axis=2)).convert(mode)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, **save)
    return buf.getvalue()


def _rotated() -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees to display
    return exif


def _page_pdf(
    path: Path,
    content: str,
    *,
    jpeg: bytes | None = None,
    colorspace: str = "/DeviceRGB",
    extra: dict[str, str] | None = None,
    gstates: str = "",
    icc: bytes | None = None,
    default_rgb: bytes | None = None,
) -> Path:
    """A 300 x 800 pt page whose content stream is `content`, with the JPEG as /Im0, /F1 and the given /GS states.

    With `icc`, the image's colour space is [/ICCBased] that RGB profile instead of `colorspace`; with
    `default_rgb`, the page's /DefaultRGB is that profile.
    """
    with pymupdf.open() as doc:
        page = doc.new_page(width=300, height=800)
        if icc is not None:
            colorspace = _icc_based(doc, icc)
        if default_rgb is not None:
            gstates += f" /ColorSpace << /DefaultRGB {_icc_based(doc, default_rgb)} >>"
        img = doc.get_new_xref()
        doc.update_object(
            img,
            f"<< /Type /XObject /Subtype /Image /Width {W} /Height {H} /ColorSpace {colorspace} /BitsPerComponent 8 >>",
        )
        doc.update_stream(img, jpeg or _jpeg(), compress=False)  # the stream as is; this drops /Filter
        for key, value in {"Filter": "/DCTDecode", **(extra or {})}.items():
            doc.xref_set_key(img, key, value)
        resources = f"<< /XObject << /Im0 {img} 0 R >> /Font << /F1 {FONT} >> {gstates} >>"
        doc.xref_set_key(page.xref, "Resources", resources)
        stream = doc.get_new_xref()
        doc.update_object(stream, "<< >>")
        doc.update_stream(stream, content.encode())
        doc.xref_set_key(page.xref, "Contents", f"{stream} 0 R")
        doc.save(path)
    return path


def _icc_based(doc: pymupdf.Document, profile: bytes) -> str:
    xref = doc.get_new_xref()
    doc.update_object(xref, "<< /N 3 >>")
    doc.update_stream(xref, profile)
    return f"[/ICCBased {xref} 0 R]"


def _kept(path: Path) -> int:
    with pymupdf.open(path) as doc:
        page = doc[0]
        return len(verbatim_jpegs(page.get_displaylist(annots=False), tuple(page.rect)))


DRAW = f"q {PLACE} /Im0 Do Q"
LABEL = "0 0 1 rg BT /F1 24 Tf 130 165 Td (A) Tj ET"  # a blue letter in the middle of the picture
ARROW = "1 0 0 RG 3 w 60 110 m 140 180 l S"  # a red stroke across it


@pytest.mark.parametrize(
    ("name", "content", "options", "kept"),
    [
        ("plain placement", DRAW, {}, 1),
        ("inside a rectangular clip that holds it", f"q 40 90 220 170 re W n {DRAW} Q", {}, 1),
        ("grey JPEG", DRAW, {"jpeg": _jpeg("L"), "colorspace": "/DeviceGray"}, 1),
        ("text and a frame drawn before it, hidden under it", f"{LABEL} 0 0 1 RG 45 95 210 160 re S {DRAW}", {}, 1),
        ("caption below it", f"{DRAW} BT /F1 10 Tf 50 85 Td (Figure 1. A cyst.) Tj ET", {}, 1),
        ("a label drawn over it", f"{DRAW} {LABEL}", {}, 0),
        ("an arrow drawn over it", f"{DRAW} {ARROW}", {}, 0),
        ("a clip smaller than the picture", f"q 60 110 100 100 re W n {DRAW} Q", {}, 0),
        ("a round clip", f"q 150 175 m 250 175 150 250 50 175 c 50 100 250 100 150 175 c W n {DRAW} Q", {}, 0),
        ("rotated a quarter turn", "q 0 150 -200 0 250 100 cm /Im0 Do Q", {}, 0),
        ("flipped upside down", "q 200 0 0 -150 50 250 cm /Im0 Do Q", {}, 0),
        ("half transparent", f"q /GSa gs {DRAW} Q", {"gstates": "/ExtGState << /GSa << /ca 0.5 >> >>"}, 0),
        ("multiply blend", f"q /GSb gs {DRAW} Q", {"gstates": "/ExtGState << /GSb << /BM /Multiply >> >>"}, 0),
        ("inverted by /Decode", DRAW, {"extra": {"Decode": "[1 0 1 0 1 0]"}}, 0),
        ("YCbCr read as RGB (/ColorTransform 0)", DRAW, {"extra": {"DecodeParms": "<< /ColorTransform 0 >>"}}, 0),
        ("CMYK JPEG", DRAW, {"jpeg": _jpeg("CMYK"), "colorspace": "/DeviceCMYK"}, 0),
        ("EXIF rotation a viewer would apply", DRAW, {"jpeg": _jpeg(exif=_rotated())}, 0),
        ("partly off the page", "q 200 0 0 150 200 100 cm /Im0 Do Q", {}, 0),
    ],
)
def test_which_jpegs_keep_their_bytes(tmp_path: Path, name: str, content: str, options: dict, kept: int) -> None:
    assert _kept(_page_pdf(tmp_path / "p.pdf", content, **options)) == kept, name


@pytest.mark.parametrize(
    ("profile", "kept"),
    [
        ("sRGB", 1),  # another maker's sRGB (lcms's own): MuPDF converts it to its sRGB exactly
        ("XYZ", 0),  # RGB numbers that mean XYZ: a viewer reading the JPEG as sRGB would show other colours
    ],
)
def test_icc_profiles_are_judged_by_how_they_convert(tmp_path: Path, profile: str, kept: int) -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile(profile)).tobytes()
    assert _kept(_page_pdf(tmp_path / "own.pdf", DRAW, icc=icc)) == kept, "the image's own profile"
    assert _kept(_page_pdf(tmp_path / "page.pdf", DRAW, default_rgb=icc)) == kept, "the page's /DefaultRGB"


def _figure_pdf(path: Path, over: str = "") -> Path:
    content = f"{DRAW} {over} BT /F1 10 Tf 50 80 Td (Figure 1. A simple cyst.) Tj ET"
    return _page_pdf(path, content)


def test_untouched_jpeg_is_stored_as_itself_and_matches_its_render(tmp_path: Path) -> None:
    pdf = _figure_pdf(tmp_path / "plain.pdf")
    kept = process_file(pdf, tmp_path / "a", ExtractSettings()).figures
    rendered = process_file(pdf, tmp_path / "b", ExtractSettings(keep_jpegs=False)).figures
    assert len(kept) == len(rendered) == 1
    assert kept[0].image.endswith(".jpg") and rendered[0].image.endswith(".png")
    assert (tmp_path / "a" / kept[0].image).read_bytes() == _jpeg()
    assert (kept[0].width, kept[0].height) == (W, H)
    assert kept[0].bbox == rendered[0].bbox
    assert kept[0].is_ultrasound == rendered[0].is_ultrasound
    with Image.open(tmp_path / "a" / kept[0].image) as a, Image.open(tmp_path / "b" / rendered[0].image) as b:
        native = np.asarray(a.convert("RGB"), dtype=np.float64)
        scaled = np.asarray(b.convert("RGB").resize((W, H), Image.Resampling.BOX), dtype=np.float64)
    assert np.abs(native - scaled).mean() < 4  # the same picture: only resampling and decoder rounding differ


@pytest.mark.parametrize("keep_jpegs", [True, False])
@pytest.mark.parametrize(("over", "ink"), [(LABEL, "blue"), (ARROW, "red")])
def test_overlaid_labels_and_arrows_reach_the_crop(tmp_path: Path, keep_jpegs: bool, over: str, ink: str) -> None:
    """Arrows and letters drawn over a picture are part of the figure: the crop is rendered and shows them."""
    settings = ExtractSettings(keep_jpegs=keep_jpegs)
    counts = []
    for name, extra in (("over", over), ("clean", "")):
        figures = process_file(_figure_pdf(tmp_path / f"{name}.pdf", extra), tmp_path / name, settings).figures
        assert len(figures) == 1
        with Image.open(tmp_path / name / figures[0].image) as im:
            rgb = np.asarray(im.convert("RGB"), dtype=np.int16)
        pure = (rgb[..., 2] > 200) if ink == "blue" else (rgb[..., 0] > 200)
        others = rgb[..., :2] if ink == "blue" else rgb[..., 1:]
        counts.append(int((pure & (others.max(axis=2) < 60)).sum()))
    assert counts[0] > 100, f"the {ink} overlay is missing from the crop"
    assert counts[1] < 10, "the picture alone has no such pixels"
