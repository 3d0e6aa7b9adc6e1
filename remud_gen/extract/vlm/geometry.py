"""Where a box a vision model names lies on the page: model space -> sent image -> page pixels -> PDF points.

An image reaches the model through two resizes. `remud_gen.llm.images` first scales it down to the endpoint's pixel
budget (`endpoint.image_max_pixels`); then the model's own processor resizes what it received. Box formats:

- ``qwen``: Qwen2.5-VL answers in absolute pixels of its processor's input, which is the *smart-resize* of the image it
  received: both sides rounded to multiples of 28 (patch 14 x merge 2), the area kept within [min_pixels,
  max_pixels], the aspect ratio kept as nearly as the rounding allows. The size is recomputed here, so no answer
  has to report it.
- ``norm1000``: coordinates from 0 to 1000 of the image's width and height (Qwen2-VL, Qwen3-VL, most others).
- ``norm1``: fractions from 0 to 1.

Both resizes are uniform per axis, so once the model's frame size is known a box maps to page pixels by one
scale per axis; the sent image only matters through the smart-resize computed from its size.
"""

from __future__ import annotations

import math
from typing import Literal

from remud_gen.llm.images import fit_size

BoxFormat = Literal["qwen", "norm1000", "norm1"]
Box = tuple[float, float, float, float]
FACTOR = 28  # Qwen2/2.5-VL: 14-pixel patches merged 2x2
MAX_RATIO = 200  # the Qwen processors refuse longer images


def smart_resize(
    height: int, width: int, *, factor: int = FACTOR, min_pixels: int = 56 * 56, max_pixels: int = 28 * 28 * 1280
) -> tuple[int, int]:
    """The (height, width) a Qwen2-VL/2.5-VL processor resizes an image of (height, width) to.

    Each side is rounded to the nearest multiple of ``factor``; if the area then exceeds ``max_pixels`` both sides
    are scaled down by the same factor and floored to multiples of ``factor``, and if it falls under ``min_pixels``
    they are scaled up and ceiled. A side never drops below ``factor``.

    Raises:
        ValueError: a side is not positive, or the aspect ratio is over 200 (the processor refuses those).
    """
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    if max(height, width) / min(height, width) > MAX_RATIO:
        raise ValueError(f"aspect ratio of {width}x{height} is over {MAX_RATIO}")
    h = max(factor, round(height / factor) * factor)
    w = max(factor, round(width / factor) * factor)
    if h * w > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h = max(factor, math.floor(height / beta / factor) * factor)
        w = max(factor, math.floor(width / beta / factor) * factor)
    elif h * w < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h = math.ceil(height * beta / factor) * factor
        w = math.ceil(width * beta / factor) * factor
    return h, w


def model_frame(
    image_size: tuple[int, int], fmt: BoxFormat, *, budget: int, min_pixels: int, max_pixels: int
) -> tuple[float, float]:
    """The (width, height) of the coordinate frame the model answers in, for an image of ``image_size`` (w, h).

    Args:
        image_size: the image file's (width, height) as written to disk.
        fmt: the box format.
        budget: ``endpoint.image_max_pixels``, the downscale `remud_gen.llm.images` applies before sending.
        min_pixels: the model processor's lower pixel bound (qwen only).
        max_pixels: the model processor's upper pixel bound (qwen only).
    """
    if fmt == "norm1000":
        return 1000.0, 1000.0
    if fmt == "norm1":
        return 1.0, 1.0
    sent_w, sent_h = fit_size(image_size[0], image_size[1], budget)
    h, w = smart_resize(sent_h, sent_w, min_pixels=min_pixels, max_pixels=max_pixels)
    return float(w), float(h)


def to_image(box: Box, frame: tuple[float, float], image_size: tuple[int, int]) -> Box:
    """A model-space box as pixels of the image file, corners ordered and clipped to the image."""
    sx, sy = image_size[0] / frame[0], image_size[1] / frame[1]
    x0, x1 = sorted((box[0] * sx, box[2] * sx))
    y0, y1 = sorted((box[1] * sy, box[3] * sy))
    w, h = float(image_size[0]), float(image_size[1])
    return (min(max(x0, 0.0), w), min(max(y0, 0.0), h), min(max(x1, 0.0), w), min(max(y1, 0.0), h))


def from_image(box: Box, frame: tuple[float, float], image_size: tuple[int, int]) -> Box:
    """The inverse of `to_image` (no clipping): where a box of the image file lies in the model's frame."""
    sx, sy = frame[0] / image_size[0], frame[1] / image_size[1]
    return (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)


def default_format(model: str) -> BoxFormat:
    """The box format a model answers in, from its name: Qwen2.5-VL uses absolute pixels, the rest 0-1000.

    Qwen2-VL was trained on 0-1000 boxes and Qwen3-VL returned to them; only Qwen2.5-VL answers in pixels of its
    resized input.
    """
    name = model.lower().replace("_", ".").replace("-", ".")
    return "qwen" if "qwen2.5.vl" in name or "qwen2.5vl" in name else "norm1000"
