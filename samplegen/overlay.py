"""Vendor-style annotations a scanner burns into the black margins of a frame.

Real frames carry the preset, acoustic output indices, frame rate, gain, a depth scale with tick marks, the body
mark ("LK") and the caliper read-out ("Dist 5.84 cm"). They are what an OCR step finds inside an ultrasound image,
so every string drawn here is returned as ground truth.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from samplegen.anatomy import Scene
from samplegen.probe import Probe

TEXT_GREY = 232


def _size(p: Probe) -> int:
    return max(9, round(p.height / 30))


def _font(p: Probe) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=_size(p))


def _fill(img: Image.Image, level: int) -> int | tuple[int, int, int]:
    return (level, level, level) if img.mode == "RGB" else level


def _depth_scale(
    draw: ImageDraw.ImageDraw, img: Image.Image, p: Probe, font: ImageFont.FreeTypeFont | ImageFont.ImageFont
) -> list[str]:
    """Ticks every centimetre (every 5 mm on shallow presets) beside the image, numbered at the major ticks."""
    x0 = min(p.width * 0.925, max(p.right + 4, p.width * 0.86))
    step, major = (0.5, 1.0) if p.depth_cm <= 6 else (1.0, 5.0)
    texts: list[str] = []
    fill = _fill(img, TEXT_GREY)
    for k in range(int(p.depth_cm / step) + 1):
        cm = k * step
        y = p.top + cm * p.px_per_cm
        is_major = math.isclose(cm % major, 0.0, abs_tol=1e-6)
        draw.line([(x0, y), (x0 + (7 if is_major else 4), y)], fill=fill)
        if is_major and cm > 0:
            label = f"{cm:g}"
            draw.text((x0 + 9, y), label, fill=fill, font=font, anchor="lm")
            texts.append(label)
    draw.line([(x0, p.top), (x0, p.top + p.depth_cm * p.px_per_cm)], fill=fill)
    return texts


def _calipers(draw: ImageDraw.ImageDraw, img: Image.Image, p: Probe, scene: Scene) -> float:
    """Two "+" marks joined by a dotted line; returns the measured distance in cm."""
    (x1, y1), (x2, y2) = (p.to_px(*pt) for pt in scene.calipers)
    fill = _fill(img, 245)
    for x, y in ((x1, y1), (x2, y2)):
        draw.line([(x - 5, y), (x + 5, y)], fill=fill, width=1)
        draw.line([(x, y - 5), (x, y + 5)], fill=fill, width=1)
    length = math.hypot(x2 - x1, y2 - y1)
    for t in np.arange(8.0, length - 7.0, 5.0):
        cx, cy = x1 + (x2 - x1) * t / length, y1 + (y2 - y1) * t / length
        draw.point([(cx, cy)], fill=fill)
    return length / p.px_per_cm


def draw_overlay(img: Image.Image, p: Probe, scene: Scene, rng: np.random.Generator) -> list[str]:
    """Burn the scanner annotations into `img` (mode "L" or "RGB") and return the strings drawn.

    Args:
        img: The frame, already black outside the field of view.
        p: Its probe geometry.
        scene: The scene, for the body mark, preset and caliper positions.
        rng: Random source for the acquisition settings shown.
    """
    draw = ImageDraw.Draw(img)
    font = _font(p)
    size = _size(p)
    fill = _fill(img, TEXT_GREY)
    settings = [
        scene.preset,
        f"MI {rng.uniform(0.6, 1.4):.1f}",
        f"TIs {rng.uniform(0.1, 0.9):.1f}",
        f"FR {int(rng.integers(12, 40))}Hz",
        f"Gn {int(rng.integers(40, 70))}",
        f"DR {int(rng.integers(55, 80))}",
        f"D {p.depth_cm:.1f}cm",
    ]
    texts: list[str] = []
    for i, line in enumerate(settings):
        draw.text((4, 4 + i * (size + 3)), line, fill=fill, font=font)
        texts.append(line)
    texts += _depth_scale(draw, img, p, font)
    # orientation marker: the dot on the side of the image that matches the probe's notch
    mx, my = p.to_px(-p.lat_max(0.0), 0.0)
    draw.ellipse([mx - 9, my - 4, mx - 3, my + 2], fill=fill)
    dist = _calipers(draw, img, p, scene)
    reading = f"Dist {dist:.2f} cm"
    draw.text((4, p.height - 4), reading, fill=fill, font=font, anchor="ld")
    draw.text((p.width - 4, p.height - 4), scene.body_mark, fill=fill, font=font, anchor="rd")
    return [*texts, reading, scene.body_mark]


def draw_colour_bar(img: Image.Image, p: Probe, scale: float) -> list[str]:
    """Velocity colour bar in the left margin (red towards the probe on top, blue away below)."""
    draw = ImageDraw.Draw(img)
    font = _font(p)
    x0, y0, y1 = 6, int(p.height * 0.52), int(p.height * 0.8)
    mid = (y0 + y1) / 2
    for y in range(y0, y1):
        t = (mid - y) / (mid - y0)
        colour = (int(90 + 165 * t), int(60 * t * t), 0) if t >= 0 else (0, int(60 * t * t), int(90 - 165 * t))
        draw.line([(x0, y), (x0 + 6, y)], fill=colour)
    top, bottom = f"+{scale:.1f}", f"-{scale:.1f}"
    draw.text((x0, y0 - 3), top, fill=(TEXT_GREY,) * 3, font=font, anchor="ld")
    draw.text((x0, y1 + 3), bottom, fill=(TEXT_GREY,) * 3, font=font, anchor="la")
    draw.text((x0, y1 + 5 + _size(p)), "cm/s", fill=(TEXT_GREY,) * 3, font=font)
    return [top, bottom, "cm/s"]
