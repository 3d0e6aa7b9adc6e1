"""Whether a stored JPEG shows what MuPDF draws: the colour checks of `verbatim` (see its docstring).

Two questions, each answered by measuring rather than by names: does the image's colour space convert to sRGB as
the identity, and does a plain JPEG decoder (PIL) see the same pixels as MuPDF's decode, with nothing (EXIF
rotation, an embedded ICC profile) that a viewer would apply on top.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pymupdf
from PIL import Image

mupdf = pymupdf.mupdf
_ORIENTATION = 0x0112
_MAX_MEAN_DIFF = 2.0  # grey levels between the two decodes; see verbatim's docstring
_LEVELS = np.array([*range(0, 256, 15), 255], dtype=np.uint8)
_identity: dict[bytes, bool] = {}  # ICC profile digest -> converts to sRGB as the identity


def _digest(cs: Any) -> bytes:
    """MD5 of a colour space's ICC profile (MuPDF writes it into a caller's 16-byte buffer)."""
    out = bytearray(16)
    mupdf.ll_fz_colorspace_digest(cs, mupdf.python_mutable_buffer_data(out))
    return bytes(out)


def converts_as_is(cs: Any) -> bool:
    """True when MuPDF's conversion from grey/RGB colour space `cs` to sRGB moves no colour by more than one level."""
    if mupdf.ll_fz_colorspace_is_indexed(cs) or not mupdf.ll_fz_colorspace_is_icc(cs):
        return False
    key = _digest(cs)
    if key not in _identity:
        n = mupdf.ll_fz_colorspace_n(cs)
        if n == 3:
            grid = np.stack(np.meshgrid(_LEVELS, _LEVELS, _LEVELS, indexing="ij"), axis=-1).reshape(-1, 3)
        else:
            grid = np.arange(256, dtype=np.uint8).reshape(-1, 1)
        own = pymupdf.Colorspace(mupdf.FzColorspace(mupdf.ll_fz_keep_colorspace(cs)))
        src = pymupdf.Pixmap(own, len(grid), 1, grid.tobytes(), 0)
        out = np.frombuffer(pymupdf.Pixmap(pymupdf.csRGB, src).samples, dtype=np.uint8).reshape(-1, 3)
        want = np.repeat(grid, 3, axis=1) if n == 1 else grid
        _identity[key] = int(np.abs(out.astype(np.int16) - want).max()) <= 1
    return _identity[key]


def as_viewers_see_it(data: bytes, size: tuple[int, int], drawn: np.ndarray) -> np.ndarray | None:
    """PIL's decode of the stored JPEG as (H, W, 3) RGB when it shows what MuPDF drew, else None.

    The file must carry nothing a viewer would apply on top (EXIF rotation, an ICC profile of its own), and its
    pixels, box-averaged to the size of MuPDF's reduced decode `drawn`, must match that decode.
    """
    sh, sw, n = drawn.shape
    factor = -(-size[0] // sw)
    h, w = min(size[1] // factor, sh), min(size[0] // factor, sw)  # whole blocks only: edges are padded
    try:
        with Image.open(io.BytesIO(data)) as im:
            if (
                im.format != "JPEG"
                or im.size != size
                or im.mode != {1: "L", 3: "RGB"}[n]
                or im.info.get("icc_profile")
                or im.getexif().get(_ORIENTATION, 1) != 1
                or -(-size[1] // factor) != sh
            ):
                return None
            im.load()
            seen = np.asarray(im.reduce(factor), dtype=np.int16).reshape(sh, sw, n)[:h, :w]
            pixels = np.asarray(im, dtype=np.uint8).reshape(size[1], size[0], n)
    except Exception:  # PIL cannot read it: a viewer may not either, so it is rendered
        return None
    if h == 0 or w == 0 or float(np.abs(seen - drawn[:h, :w]).mean()) > _MAX_MEAN_DIFF:
        return None
    return np.broadcast_to(pixels, (size[1], size[0], 3)) if n == 1 else pixels  # grey: a read-only RGB view
