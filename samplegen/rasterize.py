"""Image-only copies of a PDF, to test the scanned-page path on the same truth.

`rasterize_pdf` renders each page to one JPEG placed over the whole page (a scanned book); `strip_pdf` cuts each
page into horizontal strips (as fax-style scanners write CCITT strips), so there is no single page image to find.
Page sizes are kept, so the truth boxes of the source still hold.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pymupdf
from PIL import Image

from samplegen.truth import SampleSet, write_truth


def _open(src: Path) -> pymupdf.Document:
    try:
        doc = pymupdf.open(src)
    except RuntimeError as exc:  # PyMuPDF's FileNotFoundError / FileDataError / EmptyFileError
        raise ValueError(f"{src}: cannot open PDF ({exc})") from exc
    if not doc.is_pdf:
        doc.close()
        raise ValueError(f"{src}: not a PDF")
    return doc


def rasterize_pdf(src: Path, dst: Path, dpi: int = 150) -> Path:
    """Write `dst`: every page of `src` rendered at `dpi` to a JPEG that fills the page; no text layer.

    Raises:
        ValueError: If `src` is not a readable PDF or `dpi` is not in 30..600.
    """
    if not 30 <= dpi <= 600:
        raise ValueError(f"dpi {dpi} out of range (30..600)")
    with _open(src) as doc, pymupdf.open() as out:
        for page in doc:
            jpeg = page.get_pixmap(dpi=dpi).tobytes("jpeg", jpg_quality=80)
            new = out.new_page(width=page.rect.width, height=page.rect.height)
            new.insert_image(new.rect, stream=jpeg)
        out.save(dst, garbage=3, deflate=True, no_new_id=True)  # same input, same bytes
    return dst


def strip_pdf(src: Path, dst: Path, dpi: int = 150, strips: int = 40, *, bilevel: bool = False) -> Path:
    """Write `dst`: every page of `src` as `strips` horizontal image bands stacked to cover the page.

    Args:
        src: Source PDF.
        dst: Output PDF.
        dpi: Render resolution.
        strips: Number of bands per page (2..400).
        bilevel: Store 1-bit dithered bands (like CCITT fax scans) instead of grey JPEG bands.

    Raises:
        ValueError: If `src` is not a readable PDF or an argument is out of range.
    """
    if not 2 <= strips <= 400 or not 30 <= dpi <= 600:
        raise ValueError(f"strips {strips} or dpi {dpi} out of range (2..400, 30..600)")
    with _open(src) as doc, pymupdf.open() as out:
        for page in doc:
            pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
            img = Image.frombytes("L", (pix.width, pix.height), pix.samples)
            new = out.new_page(width=page.rect.width, height=page.rect.height)
            scale = page.rect.height / pix.height
            for k in range(strips):
                top, bottom = round(k * pix.height / strips), round((k + 1) * pix.height / strips)
                band = img.crop((0, top, pix.width, bottom))
                buf = io.BytesIO()
                if bilevel:
                    band.convert("1").save(buf, "PNG")
                else:
                    band.save(buf, "JPEG", quality=80)
                rect = pymupdf.Rect(0, top * scale, page.rect.width, bottom * scale)
                new.insert_image(rect, stream=buf.getvalue(), keep_proportion=False)
        out.save(dst, garbage=3, deflate=True, no_new_id=True)  # same input, same bytes
    return dst


def rasterize_sample(sample: SampleSet, out_dir: Path, dpi: int = 150) -> SampleSet:
    """Image-only copies of every PDF of a sample (`<name>_scan.pdf`) with the truth re-pointed at them.

    Logos are left out of the copied truth: on a scanned page they are just pixels of the page image.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    names = {pdf.name: f"{pdf.stem}_scan.pdf" for pdf in sample.pdfs}
    pdfs = [rasterize_pdf(pdf, out_dir / names[pdf.name], dpi) for pdf in sample.pdfs]
    scanned = SampleSet(
        pdfs=pdfs,
        truth=out_dir / f"{sample.truth.stem}_scan.json",
        panels=[dataclasses.replace(p, doc=names[p.doc]) for p in sample.panels if p.kind != "logo"],
        decoys=[dataclasses.replace(d, doc=names[d.doc]) for d in sample.decoys],
        pages=[dataclasses.replace(p, doc=names[p.doc]) for p in sample.pages],
        citations=[dataclasses.replace(c, doc=names[c.doc]) for c in sample.citations],
        seed=sample.seed,
    )
    write_truth(scanned)
    return scanned
