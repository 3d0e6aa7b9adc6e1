"""Render page regions and store them once, by content hash, with atomic writes.

A crop is rendered from the page (not pulled out of the PDF's image stream), so overlaid arrows and labels are kept
and MuPDF applies the colour management: CMYK, ICC profiles, soft and stencil masks, indexed colour, JBIG2 and CCITT
all come out as the RGB a viewer shows. (The one exception, a JPEG the page shows untouched, is stored as its own
bytes: see `remud_gen.extract.verbatim`.)
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pymupdf

from remud_gen.extract.model import BBox
from remud_gen.io import write_bytes_atomic

IMAGES_DIR = Path("extract") / "images"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def render(source: pymupdf.Page | pymupdf.DisplayList, clip: BBox | None, dpi: int, max_pixels: int) -> pymupdf.Pixmap:
    """RGB pixmap of `clip` (the whole page when None) at `dpi`, lowered so it stays under `max_pixels`.

    `source` is a page, or its display list (annotations excluded) when several regions of one page are rendered:
    the page's content is then parsed once instead of once per region; the pixels are the same.
    """
    rect = pymupdf.Rect(clip) if clip else source.rect
    w_in, h_in = rect.width / 72, rect.height / 72
    if w_in * h_in * dpi * dpi > max_pixels:
        dpi = max(36, int((max_pixels / max(w_in * h_in, 1e-6)) ** 0.5))
    if isinstance(source, pymupdf.DisplayList):
        zoom = pymupdf.Matrix(dpi / 72, dpi / 72)
        return source.get_pixmap(matrix=zoom, clip=rect, colorspace=pymupdf.csRGB, alpha=False)
    return source.get_pixmap(clip=rect, dpi=dpi, colorspace=pymupdf.csRGB, alpha=False, annots=False)


def to_array(pix: pymupdf.Pixmap) -> np.ndarray:
    """(H, W, 3) uint8 copy of an RGB pixmap's samples."""
    rows = np.frombuffer(pix.samples_mv, dtype=np.uint8).reshape(pix.height, pix.stride)
    return rows[:, : pix.width * pix.n].reshape(pix.height, pix.width, pix.n)[:, :, :3].copy()


def png_bytes(rgb: np.ndarray) -> bytes:
    """Encode an (H, W, 3) array as an 8-bit RGB PNG, fast: every row "Up"-filtered, zlib level 1.

    Encoding dominates the extraction of figure pages. PIL's encoder tries five filters on every row; one fixed
    filter compresses these renders about as well (within ~5%) at half the time, and zlib releases the GIL.
    """
    pixels = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = pixels.shape[:2]
    flat = pixels.reshape(h, w * 3)
    rows = np.empty((h, w * 3 + 1), dtype=np.uint8)
    rows[:, 0] = 2  # filter type Up: each byte minus the byte above it (mod 256)
    rows[:1, 1:] = flat[:1]
    np.subtract(flat[1:], flat[:-1], out=rows[1:, 1:])
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"".join(
        [_PNG_SIGNATURE, *_chunk(b"IHDR", header), *_chunk(b"IDAT", zlib.compress(rows.data, 1)), *_chunk(b"IEND", b"")]
    )


def _chunk(kind: bytes, data: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """A PNG chunk as parts to join: length, type, data, CRC of type and data."""
    return struct.pack(">I", len(data)), kind, data, struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


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
        _bound_backlog()
    return rel.as_posix()


_BACKLOG = 8  # crops waiting for the encoder at most: each holds its pixels, so an unbounded queue is unbounded RAM


def _bound_backlog() -> None:
    """Forget finished writes (re-raising a failure) and wait while too many crops are queued."""
    global _pending
    done = [f for f in _pending if f.done()]
    for f in done:
        f.result()
    _pending = [f for f in _pending if not f.done()]
    while len(_pending) > _BACKLOG:
        _pending.pop(0).result()


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
