"""Images as the endpoint wants them: downscaled to a pixel budget, encoded, wrapped in a data URL.

Grey or many-coloured photographs (ultrasound frames, scans) go as JPEG; images with transparency or few colours
(diagrams, line art) go as PNG, where JPEG would blur edges and cost more bytes.
"""

from __future__ import annotations

import base64
import io
import math
from collections import OrderedDict
from pathlib import Path
from threading import Lock

from PIL import Image

from remud_gen.errors import InputError

_CACHE_ITEMS = 64
_SENDABLE = frozenset({"RGB", "RGBA", "L", "LA", "P", "1"})
_FEW_COLOURS = 64
_cache: OrderedDict[tuple[str, int], str] = OrderedDict()
_lock = Lock()


def data_url(path: Path, max_pixels: int) -> str:
    """Return ``data:<mime>;base64,...`` for ``path`` scaled to at most ``max_pixels`` pixels.

    Raises:
        InputError: the file is missing or not a readable image.
    """
    key = (str(path), max_pixels)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    url = _encode(path, max_pixels)
    with _lock:
        _cache[key] = url
        while len(_cache) > _CACHE_ITEMS:
            _cache.popitem(last=False)
    return url


def _encode(path: Path, max_pixels: int) -> str:
    try:
        with Image.open(path) as im:
            im.load()
            img: Image.Image = im
    except (OSError, Image.DecompressionBombError) as exc:
        raise InputError(f"cannot read image {path}: {exc}; re-run extract to recreate it") from exc
    if img.mode not in _SENDABLE:
        img = img.convert("RGB")  # CMYK (print JPEGs), YCbCr, 16-bit grey: PNG or JPEG need RGB or grey
    size = fit_size(*img.size, max_pixels)
    if size != img.size:
        img = img.resize(size, Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    if _wants_png(img):
        img.save(buf, format="PNG", optimize=False)
        mime = "image/png"
    else:
        img.convert("RGB").save(buf, format="JPEG", quality=90)
        mime = "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(buf.getvalue()).decode('ascii')}"


def fit_size(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """The (width, height) an image of this size is sent at: scaled down uniformly to at most ``max_pixels``.

    The VLM detector maps boxes back through this size, so it is the one place the downscale is decided.
    """
    if width * height <= max_pixels:
        return width, height
    scale = math.sqrt(max_pixels / (width * height))
    return max(1, int(width * scale)), max(1, int(height * scale))


def _wants_png(img: Image.Image) -> bool:
    if img.mode in ("RGBA", "LA", "P", "1") or "transparency" in img.info:
        return True
    return img.getcolors(maxcolors=_FEW_COLOURS) is not None  # line art; a grey frame has hundreds of levels
