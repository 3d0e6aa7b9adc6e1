"""A multi-panel figure stored as ONE raster, with the panel letters drawn into the pixels.

Journals often submit a grid of frames as a single image; an extractor then sees one image but the truth has one
record per panel. `composite` returns the panel boxes (in pixels of the composite) so the truth can carry each
panel's sub-box.
"""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

from samplegen.drawn import Drawn

PixelBox = tuple[int, int, int, int]


def composite(
    panels: Sequence[Drawn], cols: int, letters: str, gutter: int = 8
) -> tuple[Drawn, list[PixelBox], list[list[str]]]:
    """Tile equally sized panels on white with `gutter` pixels between them and letter each one.

    The letter sits in a white square in the panel's top-right corner (the usual journal style).

    Returns:
        The composite (its texts are every string drawn in it), each panel's box in composite pixels, and each
        panel's own strings (its letter first, then its overlay).

    Raises:
        ValueError: If there are no panels, fewer letters than panels, or panels of different sizes.
    """
    if not panels or len(letters) < len(panels):
        raise ValueError(f"composite needs panels and one letter each (got {len(panels)} and {letters!r})")
    w, h = panels[0].image.size
    if any(p.image.size != (w, h) for p in panels):
        raise ValueError("composite panels must all have the same size")
    rows = -(-len(panels) // cols)
    sheet = Image.new("RGB", (cols * w + (cols - 1) * gutter, rows * h + (rows - 1) * gutter), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=max(12, h // 14))
    side = max(16, h // 11)
    boxes: list[PixelBox] = []
    texts: list[list[str]] = []
    for i, (panel, letter) in enumerate(zip(panels, letters, strict=False)):
        x, y = (i % cols) * (w + gutter), (i // cols) * (h + gutter)
        sheet.paste(panel.image.convert("RGB"), (x, y))
        draw.rectangle([x + w - side - 2, y + 2, x + w - 2, y + side + 2], fill=(255, 255, 255))
        draw.text((x + w - 2 - side / 2, y + 2 + side / 2), letter, fill=(0, 0, 0), font=font, anchor="mm")
        boxes.append((x, y, x + w, y + h))
        texts.append([letter, *panel.texts])
    return Drawn(sheet, tuple(t for group in texts for t in group)), boxes, texts
