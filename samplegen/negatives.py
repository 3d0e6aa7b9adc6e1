"""Pictures that are NOT ultrasound: colour schematics and photo-like images.

Books and papers about ultrasound are full of these (anatomy drawings, decision flowcharts, photographs of a
probe on a patient). A figure extractor must keep them as figures but must not call them ultrasound, so the
sample documents carry a few of each as negatives.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from samplegen.drawn import Drawn

ANATOMY_LABELS = ("Cortex", "Medulla", "Renal pelvis", "Ureter", "Renal artery", "Renal vein")
FLOW_LABELS = ("Renal lesion on US", "Cystic", "Solid", "Simple cyst", "Complex cyst", "No follow-up", "CT / MRI")
PALETTE = ((231, 150, 128), (184, 76, 82), (246, 214, 108), (214, 40, 40), (46, 84, 200))


def _anatomy(draw: ImageDraw.ImageDraw, w: int, h: int, rng: np.random.Generator, labels: Sequence[str]) -> None:
    cx, cy, a, b = w * 0.36, h * 0.5, w * 0.2, h * 0.36
    cortex, pyramid, pelvis, artery, vein = PALETTE
    draw.ellipse([cx - a, cy - b, cx + a, cy + b], fill=cortex, outline=(120, 40, 40), width=3)
    for k in range(7):
        ang = math.pi * (0.62 + 0.76 * k / 6)
        tip = (cx + 0.25 * a * math.cos(ang), cy + 0.25 * b * math.sin(ang))
        base = [(cx + 0.8 * a * math.cos(ang + s), cy + 0.8 * b * math.sin(ang + s)) for s in (-0.16, 0.16)]
        draw.polygon([tip, *base], fill=pyramid)
    draw.polygon(
        [
            (cx + 0.1 * a, cy - 0.3 * b),
            (cx + 1.05 * a, cy - 0.08 * b),
            (cx + 1.05 * a, cy + 0.08 * b),
            (cx + 0.1 * a, cy + 0.3 * b),
        ],
        fill=pelvis,
        outline=(150, 120, 30),
    )
    draw.line(
        [(cx + 1.05 * a, cy), (cx + 1.2 * a, cy + 0.4 * b), (cx + 1.1 * a, cy + 1.05 * b)],
        fill=pelvis,
        width=max(4, w // 60),
    )
    draw.line([(cx + 0.3 * a, cy - 0.45 * b), (w * 0.7, cy - 0.55 * b)], fill=artery, width=max(3, w // 80))
    draw.line([(cx + 0.3 * a, cy - 0.2 * b), (w * 0.7, cy - 0.3 * b)], fill=vein, width=max(3, w // 70))
    anchors = [
        (cx - 0.95 * a, cy - 0.3 * b),
        (cx - 0.45 * a, cy + 0.2 * b),
        (cx + 0.6 * a, cy),
        (cx + 1.15 * a, cy + 0.8 * b),
        (w * 0.66, cy - 0.55 * b),
        (w * 0.66, cy - 0.3 * b),
    ]
    _leaders(draw, w, h, anchors, labels)


def _leaders(
    draw: ImageDraw.ImageDraw, w: int, h: int, anchors: list[tuple[float, float]], labels: Sequence[str]
) -> None:
    """Labels stacked in a column on the right, each joined to its anchor; slots follow the anchors' heights
    so that leader lines do not cross."""
    font = ImageFont.load_default(size=max(10, h // 24))
    pairs = list(zip(labels, anchors, strict=False))
    order = sorted(range(len(pairs)), key=lambda i: pairs[i][1][1])
    for slot, i in enumerate(order):
        label, (ax, ay) = pairs[i]
        ly = h * (0.12 + 0.76 * slot / max(1, len(pairs) - 1))
        draw.line([(ax, ay), (w * 0.76, ly)], fill=(60, 60, 60), width=1)
        draw.ellipse([ax - 2, ay - 2, ax + 2, ay + 2], fill=(30, 30, 30))
        draw.text((w * 0.77, ly), label, fill=(20, 20, 20), font=font, anchor="lm")


def _flowchart(draw: ImageDraw.ImageDraw, w: int, h: int, rng: np.random.Generator, labels: Sequence[str]) -> None:
    font = ImageFont.load_default(size=max(10, h // 26))
    fills = [
        (198, 224, 246),
        (206, 236, 200),
        (250, 214, 170),
        (206, 236, 200),
        (250, 214, 170),
        (224, 224, 224),
        (246, 196, 196),
    ]
    rows = [(0.5, 0.1), (0.28, 0.38), (0.72, 0.38), (0.16, 0.66), (0.42, 0.66), (0.16, 0.9), (0.42, 0.9)]
    edges = [(0, 1), (0, 2), (1, 3), (1, 4), (3, 5), (4, 6)]
    bw, bh = w * 0.22, h * 0.12
    centres = [(w * x, h * y) for x, y in rows]
    for s, t in edges:
        (x1, y1), (x2, y2) = centres[s], centres[t]
        draw.line([(x1, y1 + bh / 2), (x2, y2 - bh / 2)], fill=(70, 70, 70), width=2)
        draw.polygon([(x2, y2 - bh / 2), (x2 - 5, y2 - bh / 2 - 9), (x2 + 5, y2 - bh / 2 - 9)], fill=(70, 70, 70))
    for (x, y), label, fill in zip(centres, labels, fills, strict=False):
        draw.rounded_rectangle(
            [x - bw / 2, y - bh / 2, x + bw / 2, y + bh / 2], radius=8, fill=fill, outline=(60, 60, 90), width=2
        )
        draw.text((x, y), label, fill=(20, 20, 40), font=font, anchor="mm")


def render_diagram(
    width: int, height: int, seed: int, *, labels: Sequence[str] | None = None, kind: str | None = None
) -> Drawn:
    """A colour schematic on white: a kidney anatomy drawing or a decision flowchart, with labels.

    Args:
        width: Width in pixels (>= 64).
        height: Height in pixels (>= 48).
        seed: Picks the kind (when `kind` is None) and jitters colours.
        labels: Label strings (Latin script: the default font has no CJK glyphs); numbers suit Chinese books.
        kind: "anatomy" or "flowchart"; None chooses by seed.

    Raises:
        ValueError: For a frame that is too small or an unknown kind.
    """
    if width < 64 or height < 48:
        raise ValueError(f"diagram {width}x{height} is too small (need at least 64x48)")
    rng = np.random.default_rng(seed)
    kind = kind or ("anatomy", "flowchart")[seed % 2]
    if kind not in ("anatomy", "flowchart"):
        raise ValueError(f"unknown diagram kind {kind!r} (expected 'anatomy' or 'flowchart')")
    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    default = ANATOMY_LABELS if kind == "anatomy" else FLOW_LABELS
    chosen = tuple(labels) if labels is not None else default
    (_anatomy if kind == "anatomy" else _flowchart)(draw, width, height, rng, chosen)
    # only as many labels as the drawing has anchors (anatomy) or boxes (flowchart) are drawn
    return Drawn(img, chosen[: 6 if kind == "anatomy" else 7])


def diagram(width: int, height: int, seed: int) -> Image.Image:
    """A non-ultrasound colour schematic (white background, coloured shapes, labels)."""
    return render_diagram(width, height, seed).image


def render_photo(width: int, height: int, seed: int) -> Drawn:
    """A smooth colour image like an out-of-focus clinical photograph (no text)."""
    if width < 16 or height < 16:
        raise ValueError(f"photo {width}x{height} is too small (need at least 16x16)")
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    t = (xs / width * 0.6 + ys / height * 0.4)[..., None]
    c0, c1 = rng.uniform(60, 230, 3), rng.uniform(60, 230, 3)
    rgb = c0 * (1 - t) + c1 * t
    for _ in range(4):
        bx, by, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(0.1, 0.35) * width
        blob = np.exp(-((xs - bx) ** 2 + (ys - by) ** 2) / (2 * r * r))[..., None]
        rgb = rgb * (1 - 0.7 * blob) + rng.uniform(40, 250, 3) * 0.7 * blob
    rgb += rng.normal(0, 3.0, rgb.shape)
    img = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB").filter(ImageFilter.GaussianBlur(1.5))
    return Drawn(img, ())


def photo_like(width: int, height: int, seed: int) -> Image.Image:
    """A non-ultrasound photo-like image: smooth colour gradients and soft blobs."""
    return render_photo(width, height, seed).image


def render_logo(width: int, height: int, seed: int, *, text: str = "JDST") -> Drawn:
    """A small publisher logo on a transparent background (RGBA, so the PDF gets a soft mask, as real ones do)."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    draw = ImageDraw.Draw(img)
    colour = tuple(int(c) for c in rng.integers(20, 140, 3))
    d = height - 4
    draw.ellipse([2, 2, 2 + d, 2 + d], fill=(*colour, 255))
    draw.ellipse([2 + d * 0.3, 2 + d * 0.3, 2 + d * 0.7, 2 + d * 0.7], fill=(250, 190, 40, 255))
    font = ImageFont.load_default(size=max(10, int(height * 0.55)))
    draw.text((d + 10, height / 2), text, fill=(*colour, 255), font=font, anchor="lm")
    return Drawn(img, (text,))
