"""Synthetic B-mode and colour Doppler frames that look like scanner output.

A frame is the scene's reflectivity multiplied by Rayleigh speckle (the magnitude of a slightly blurred complex
Gaussian field, so grains are a few pixels wide and longer laterally than axially, as with a real beam), shaded by
depth attenuation and a time-gain curve, log-compressed to 8 bits, blacked out outside the field of view, and
annotated in the margins like a vendor screen. Everything is vectorised numpy; a 512x384 frame takes ~20 ms.

Negatives for the ultrasound classifier (`diagram`, `photo_like`) live in `negatives` and are re-exported here.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from samplegen.anatomy import DEPTH_CM, Lesion, Organ, build_scene
from samplegen.drawn import Drawn
from samplegen.negatives import diagram, photo_like, render_diagram, render_photo
from samplegen.overlay import draw_colour_bar, draw_overlay
from samplegen.probe import FloatArray, Mode, make_probe

__all__ = [
    "colour_doppler_frame",
    "diagram",
    "photo_like",
    "render_diagram",
    "render_photo",
    "render_ultrasound",
    "speckle_frame",
]


def _blur(field: FloatArray, weights: tuple[float, ...], axis: int) -> FloatArray:
    """Small separable blur by summing shifted copies (wrap-around at the border is harmless for noise)."""
    half = len(weights) // 2
    out = np.zeros_like(field)
    for k, w in enumerate(weights):
        out += w * np.roll(field, k - half, axis=axis)
    return out / sum(weights)


def _upsample(field: FloatArray, width: int, height: int) -> FloatArray:
    img = Image.fromarray(np.ascontiguousarray(field, dtype=np.float32), "F")
    return np.asarray(img.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)


def rayleigh_speckle(rng: np.random.Generator, shape: tuple[int, int]) -> FloatArray:
    """Unit-mean Rayleigh speckle, correlated over ~2 px axially and ~4 px laterally."""
    parts = []
    for _ in range(2):
        g = rng.standard_normal(shape, dtype=np.float32)
        g = _blur(g, (1.0, 2.0, 3.0, 2.0, 1.0), axis=1)
        parts.append(_blur(g, (1.0, 2.0, 1.0), axis=0))
    mag: FloatArray = np.hypot(parts[0], parts[1])
    return mag / mag.mean()


def render_ultrasound(
    width: int,
    height: int,
    seed: int,
    *,
    organ: Organ = "kidney",
    mode: Mode = "sector",
    lesion: Lesion = "cyst",
    doppler: bool = False,
) -> Drawn:
    """Render a frame and return it with the overlay strings drawn into it.

    Args:
        width: Width in pixels (>= 64).
        height: Height in pixels (>= 48).
        seed: Random seed; the same arguments give the same pixels.
        organ: "kidney", "liver", "thyroid" or "breast".
        mode: "sector" (curved array fan) or "linear" (rectangle).
        lesion: "none", "cyst" (anechoic, posterior enhancement), "stone" (shadowing) or "mass".
        doppler: Add a colour box with red/blue flow and a velocity bar (the image becomes RGB).

    Raises:
        ValueError: For an unknown organ or mode, or a frame that is too small.
    """
    if organ not in DEPTH_CM:
        raise ValueError(f"unknown organ {organ!r} (expected one of {', '.join(DEPTH_CM)})")
    rng = np.random.default_rng(seed)
    p = make_probe(width, height, mode, DEPTH_CM[organ])
    # tissue, gain curves and flow vary slowly next to speckle: draw them at half resolution and upsample
    g = p.grid(2)
    scene = build_scene(g, organ, lesion, rng)
    z = np.clip(g.z, 0.0, 1.0)
    tgc = (0.5 + 0.5 * np.exp(-2.4 * z)) * (1.0 + 0.5 * np.exp(-z / 0.03))
    u2 = np.clip(g.u * g.u, 0.0, 1.0)
    tissue = _upsample(scene.refl * scene.gain * tgc * (1.0 - 0.4 * u2 * u2 * u2), width, height)
    intensity = tissue * rayleigh_speckle(rng, (height, width))
    k = np.float32(6.0)
    grey = np.log1p(k * np.clip(intensity, 0.0, None)) * np.float32(255.0 / np.log1p(6.0 * 3.0))
    pixels = np.where(p.inside(), np.clip(grey, 0, 255), 0).astype(np.uint8)
    img = Image.fromarray(pixels, "L")
    if doppler:
        img = img.convert("RGB")
        u0 = float(rng.uniform(-0.55, -0.25))
        box = (g.u >= u0) & (g.u <= u0 + 0.8) & (g.z >= 0.22) & (g.z <= 0.78)
        box_full = np.asarray(Image.fromarray(box).resize((width, height), Image.Resampling.NEAREST))
        _paint_flow(img, box_full, _upsample(scene.flow, width, height), rng)
    texts = draw_overlay(img, p, scene, rng)
    if doppler:
        texts += draw_colour_bar(img, p, float(rng.uniform(12.0, 40.0)))
    return Drawn(img, tuple(texts))


def _paint_flow(img: Image.Image, box: NDArray[np.bool_], flow: FloatArray, rng: np.random.Generator) -> None:
    """Colour the moving blood inside the colour box: red towards the probe, blue away, box outline in grey."""
    outline = box & ~(np.roll(box, 1, 0) & np.roll(box, -1, 0) & np.roll(box, 1, 1) & np.roll(box, -1, 1))
    moving = box & (np.abs(flow) > 0.05) & (rng.random(flow.shape, dtype=np.float32) > 0.12)
    speed = np.clip(np.abs(flow), 0.0, 1.0)
    rgb = np.asarray(img).copy()
    towards, away = moving & (flow > 0), moving & (flow < 0)
    zero = np.zeros_like(speed)
    rgb[towards] = np.stack([150 + 105 * speed, 40 * speed**2, zero], axis=-1)[towards]
    rgb[away] = np.stack([zero, 60 * speed**2, 150 + 105 * speed], axis=-1)[away]
    rgb[outline] = 170
    img.paste(Image.fromarray(rgb.astype(np.uint8), "RGB"))


def speckle_frame(
    width: int, height: int, seed: int, *, organ: Organ = "kidney", mode: Mode = "sector", lesion: Lesion = "cyst"
) -> Image.Image:
    """A grey B-mode frame (mode "L"): black background, speckled field of view, anatomy and vendor overlay.

    Example:
        >>> speckle_frame(512, 384, seed=1, organ="liver").size
        (512, 384)
    """
    return render_ultrasound(width, height, seed, organ=organ, mode=mode, lesion=lesion).image


def colour_doppler_frame(
    width: int, height: int, seed: int, *, organ: Organ = "kidney", mode: Mode = "sector"
) -> Image.Image:
    """The same frame with a colour Doppler box (RGB: grey everywhere except red/blue flow and the bar)."""
    return render_ultrasound(width, height, seed, organ=organ, mode=mode, lesion="none", doppler=True).image
