"""A synthetic picture together with the strings drawn into it (ground truth for in-image text)."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image


@dataclass(frozen=True)
class Drawn:
    """A generated image and every text string rendered into its pixels, in drawing order."""

    image: Image.Image
    texts: tuple[str, ...]
