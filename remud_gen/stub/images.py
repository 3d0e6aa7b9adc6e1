"""Images inside chat requests: decode `data:` URLs and price them in tokens like a vision model does."""

from __future__ import annotations

import base64
import binascii
import io
import math
import re
import warnings

from PIL import Image, UnidentifiedImageError

from remud_gen.stub.error_responses import ApiError, bad_request

_DATA_URL_RE = re.compile(r"data:(image/[\w.+-]+);base64,(.*)", re.DOTALL)
# Qwen2-VL style pricing: one token per 28x28 patch, with a floor for tiny images.
_PATCH = 28 * 28
_MIN_IMAGE_TOKENS = 64


def image_tokens(url: object, param: str) -> int:
    """Return the prompt tokens an image costs, reading only its header for the size.

    Args:
        url: the `image_url.url` value of a content part.
        param: where it sits in the request, for the error message.

    Raises:
        ApiError: 400 when the URL is not a base64 `data:image/...` URL or does not hold a readable image.
    """
    if not isinstance(url, str):
        raise bad_request(f"{param} must be a string", param)
    match = _DATA_URL_RE.fullmatch(url.strip())
    if match is None:
        head = url[:30] + ("..." if len(url) > 30 else "")
        raise bad_request(
            f"{param} must be a base64 data:image/... URL (the stand-in fetches no remote images), got {head!r}",
            param,
            code="invalid_image_url",
        )
    try:
        raw = base64.b64decode(re.sub(r"\s+", "", match.group(2)), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise bad_request(f"{param} holds invalid base64: {exc}", param, code="invalid_image_url") from exc
    width, height = _size(raw, param)
    return max(_MIN_IMAGE_TOKENS, math.ceil(width * height / _PATCH))


def _size(raw: bytes, param: str) -> tuple[int, int]:
    try:
        with warnings.catch_warnings():
            # A huge declared size is a real (if odd) image here, not a decompression bomb: only the header is read.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as image:
                return image.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ApiError(400, f"{param} is not a readable image: {exc}", code="invalid_image", param=param) from exc
