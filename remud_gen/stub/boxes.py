"""Box requests: the stand-in answers "where are the figures?" from the pixels it received, like a grounding VLM.

A request asks for boxes when its prompt names ``bbox_2d`` (the key Qwen2.5-VL grounding prompts use) and it
carries an image. The stand-in decodes the image, finds filled rectangles (ultrasound frames, photographs, colour
plates) with a cheap analysis (ink threshold, an opening that erases text strokes, connected components) and
answers as a model would: a fenced JSON list of ``{"bbox_2d": [...], "label": ...}`` in the configured box format:

- ``qwen``: absolute pixels of the image *as the model sees it*, the smart-resize of the received image, exactly as
  Qwen2.5-VL does (so a client that forgets either its own downscale or the model's resize is off);
- ``norm1000``: 0-1000 of the received image's width and height.
"""

from __future__ import annotations

import base64
import io
import json
import re
from typing import TYPE_CHECKING, Any

from PIL import Image

from remud_gen.extract.vlm.geometry import smart_resize
from remud_gen.stub.request import ChatRequest
from remud_gen.stub.settings import StubSettings

if TYPE_CHECKING:
    import numpy as np

_ASKS_FOR_BOXES = "bbox_2d"
_DATA_URL = re.compile(r"data:image/[\w.+-]+;base64,(.*)", re.DOTALL)
_INK = 200  # darker than this in any channel is ink (frames, speckle, print)
_COLOUR = 40  # or this much spread between channels (colour plates)
_MIN_SIDE = 0.08  # of the image's shorter side
_MIN_FILL = 0.5  # of a component's bounding box


def box_answer(req: ChatRequest, settings: StubSettings) -> str | None:
    """The answer to a box request, or None when ``req`` does not ask for boxes."""
    if not any(_ASKS_FOR_BOXES in t for t in req.texts):
        return None
    image = _first_image(req.body)
    if image is None:
        return None
    width, height = image.size
    boxes = find_frames(_pixels(image))
    if settings.box_format == "qwen":
        h, w = smart_resize(height, width, min_pixels=settings.box_min_pixels, max_pixels=settings.box_max_pixels)
        sx, sy = w / width, h / height
    else:
        sx, sy = 1000 / width, 1000 / height
    items = [
        {"bbox_2d": [round(x0 * sx), round(y0 * sy), round(x1 * sx), round(y1 * sy)], "label": label}
        for (x0, y0, x1, y1), label in boxes
    ]
    return "```json\n" + json.dumps(items, indent=2) + "\n```"


def find_frames(rgb: np.ndarray) -> list[tuple[tuple[int, int, int, int], str]]:
    """Filled rectangles of an (H, W, 3) image as pixel boxes (x0, y0, x1, y1), top to bottom, with a label."""
    import numpy as np  # only box requests pay for these imports
    from scipy import ndimage

    lo, hi = rgb.min(axis=2).astype(np.int16), rgb.max(axis=2).astype(np.int16)
    colour = hi - lo > _COLOUR
    ink = (lo < _INK) | colour
    solid = ndimage.binary_opening(ink, structure=np.ones((5, 5), dtype=bool))
    labels, _ = ndimage.label(solid)
    side = _MIN_SIDE * min(rgb.shape[:2])
    found = []
    for index, where in enumerate(ndimage.find_objects(labels), start=1):
        if where is None:
            continue
        ys, xs = where
        h, w = ys.stop - ys.start, xs.stop - xs.start
        if min(h, w) < side or (labels[where] == index).mean() < _MIN_FILL:
            continue
        label = "diagram" if colour[where].mean() > 0.5 else "ultrasound"
        found.append(((xs.start, ys.start, xs.stop, ys.stop), label))
    return sorted(found, key=lambda f: (f[0][1], f[0][0]))


def _pixels(image: Image.Image) -> np.ndarray:
    import numpy as np

    return np.asarray(image.convert("RGB"))


def _first_image(body: dict[str, Any]) -> Image.Image | None:
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else []:
            image = part.get("image_url") if isinstance(part, dict) else None
            url = image.get("url") if isinstance(image, dict) else image
            match = _DATA_URL.fullmatch(url.strip()) if isinstance(url, str) else None
            if match:
                # The request was validated already (the image decodes), so this cannot fail on a bad image.
                return Image.open(io.BytesIO(base64.b64decode(re.sub(r"\s+", "", match.group(1)))))
    return None
