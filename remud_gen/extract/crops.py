"""Render page regions and store them once, by content hash, with atomic writes.

A crop is rendered from the page (not pulled out of the PDF's image stream), so overlaid arrows and labels are kept
and MuPDF applies the colour management: CMYK, ICC profiles, soft and stencil masks, indexed colour, JBIG2 and CCITT
all come out as the RGB a viewer shows.
"""

from __future__ import annotations

import hashlib
import io
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pymupdf
from PIL import Image

from remud_gen.extract.model import BBox
from remud_gen.io import write_bytes_atomic

IMAGES_DIR = Path("extract") / "images"


def render(page: pymupdf.Page, clip: BBox | None, dpi: int, max_pixels: int) -> pymupdf.Pixmap:
    """RGB pixmap of `clip` (the whole page when None) at `dpi`, lowered so it stays under `max_pixels`."""
    rect = pymupdf.Rect(clip) if clip else page.rect
    w_in, h_in = rect.width / 72, rect.height / 72
    if w_in * h_in * dpi * dpi > max_pixels:
        dpi = max(36, int((max_pixels / max(w_in * h_in, 1e-6)) ** 0.5))
    return page.get_pixmap(clip=rect, dpi=dpi, colorspace=pymupdf.csRGB, alpha=False, annots=False)


def to_array(pix: pymupdf.Pixmap) -> np.ndarray:
    """(H, W, 3) uint8 copy of an RGB pixmap's samples."""
    return np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, pix.n)[:, :, :3].copy()


def png_bytes(rgb: np.ndarray) -> bytes:
    """Encode an (H, W, 3) array as PNG; zlib level 1, since encoding time dominates extraction of figure pages."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


_encoder: ThreadPoolExecutor | None = None
_pending: list[Future[None]] = []


def store_pixels(work: Path, rgb: np.ndarray) -> str:
    """Name a crop by its pixels and write it as PNG on a background thread; returns the WORK-relative path.

    zlib releases the GIL, so encoding overlaps the next page's parsing and rendering; `wait_for_writes` must be
    called before the records that name these files are handed on.
    """
    global _encoder
    pixels = np.ascontiguousarray(rgb, dtype=np.uint8)
    h = hashlib.sha256(str(pixels.shape).encode())
    h.update(pixels.data)
    rel = IMAGES_DIR / f"{h.hexdigest()[:20]}.png"
    dest = work / rel
    if not dest.exists():
        if _encoder is None:
            _encoder = ThreadPoolExecutor(max_workers=2, thread_name_prefix="remud-png")
        _pending.append(_encoder.submit(lambda: write_bytes_atomic(dest, png_bytes(pixels), durable=False)))
    return rel.as_posix()


def wait_for_writes() -> None:
    """Block until every crop handed to `store_pixels` is on disk (re-raising a failed write)."""
    while _pending:
        _pending.pop().result()


def store(work: Path, data: bytes, ext: str = "png") -> str:
    """Write `data` under WORK/extract/images/<sha256[:20]>.<ext> unless present; return the WORK-relative path."""
    name = f"{hashlib.sha256(data).hexdigest()[:20]}.{ext}"
    rel = IMAGES_DIR / name
    dest = work / rel
    if not dest.exists():
        write_bytes_atomic(dest, data, durable=False)  # named by content: a lost file is re-rendered
    return rel.as_posix()


def sub_box(box: BBox, pix_box: tuple[int, int, int, int], scale: float) -> BBox:
    """Map a pixel box inside a crop of `box` (rendered at `scale` px per point) back to page points."""
    x0, y0, x1, y1 = pix_box
    return (box[0] + x0 / scale, box[1] + y0 / scale, box[0] + x1 / scale, box[1] + y1 / scale)
