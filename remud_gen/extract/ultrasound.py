"""Is this picture an ultrasound image? A score in [0, 1] from pixels, nudged by caption keywords.

B-mode frames are grey (colour only in a Doppler box), sit on a dark background, are textured everywhere by
speckle (few perfectly flat pixels, many small gradients) and are often fan-shaped (dark top corners). Diagrams,
charts and UI screenshots are flat with hard edges; photographs and schematics are colourful; MRI/CT/X-ray are grey
and dark but smooth. Caption words can only move a borderline score: "echocardiography" in the caption of a colour
schematic must not make it an ultrasound image.
"""

from __future__ import annotations

import re

import numpy as np

_US_WORDS = re.compile(
    r"ultrason|sonograph|sonogram|\becho|doppler|b-mode|\bb mode|\bm-mode|\bcdfi\b|\blus\b|transducer|"
    r"超声|声像图|彩超|回声|多普勒|CDFI|彩色血流",
    re.IGNORECASE,
)
_NOT_US_WORDS = re.compile(
    r"\bMRI\b|magnetic resonance|\bCT\b|computed tomograph|x-ray|radiograph|photograph|schematic|diagram|"
    r"architecture|flow ?chart|workflow|confusion matrix|\bROC\b|磁共振|CT图|X线|示意图|流程图|照片|模式图",
    re.IGNORECASE,
)


def _small(rgb: np.ndarray, side: int = 256) -> np.ndarray:
    h, w = rgb.shape[:2]
    step = max(1, int(max(h, w) / side))
    return rgb[::step, ::step]


def pixel_score(rgb: np.ndarray) -> float:
    """Score from pixels alone, in [0, 1].

    Works on integer channel sums (3 x luminance) rather than float means, so thresholds on luminance and its
    gradient are compared at three times their value, and counts instead of means of masks: same decisions, a
    tenth of the time.
    """
    if rgb.ndim != 3 or min(rgb.shape[:2]) < 8:
        return 0.0
    a = _small(rgb)
    r, g, b = a[:, :, 0], a[:, :, 1], a[:, :, 2]
    n = r.size
    chroma = np.maximum(r, g)
    np.maximum(chroma, b, out=chroma)
    chroma -= np.minimum(np.minimum(r, g), b)  # uint8 is safe: max >= min
    colour = np.count_nonzero(chroma > 40) / n
    lum3 = np.add(r, g, dtype=np.int16)  # 3 x luminance, 0..765
    lum3 += b
    grey = 1.0 - min(1.0, max(0.0, colour - 0.03) / 0.25)
    dark = np.count_nonzero(lum3 < 3 * 40) / n
    white = np.count_nonzero(lum3 > 3 * 225) / n
    darkness = min(1.0, dark / 0.2)
    grad3 = np.abs(np.diff(lum3, axis=0)[:, :-1])
    grad3 += np.abs(np.diff(lum3, axis=1)[:-1, :])
    core = lum3[:-1, :-1]
    mid = core > 3 * 30
    mid &= core < 3 * 225
    m = np.count_nonzero(mid)
    if m < 50:
        return 0.0
    speckle = np.count_nonzero(mid & (grad3 >= 3 * 3) & (grad3 <= 3 * 60)) / m
    flat = np.count_nonzero(mid & (grad3 < 3 * 1)) / m
    texture = min(1.0, max(0.0, (speckle - 0.35) / 0.4)) * (1.0 - min(1.0, flat / 0.5))
    fan = _fan(lum3)
    score = 0.35 * grey + 0.15 * darkness + 0.4 * texture + 0.1 * fan
    # Any one of these failing decisively rules it out, however the others add up: colour, flatness, white paper.
    paper = 1.0 - min(1.0, max(0.0, white - 0.35) / 0.3)
    return float(score * min(1.0, grey * 1.5) * min(1.0, 0.2 + texture) * paper)


def _fan(lum3: np.ndarray) -> float:
    """1 when the two top corners are dark and the top centre is not (a sector scan); `lum3` is 3 x luminance."""
    h, w = lum3.shape
    ch, cw = max(1, h // 6), max(1, w // 6)
    corners = (lum3[:ch, :cw].mean() + lum3[:ch, -cw:].mean()) / 6
    centre = lum3[: h // 3, w // 3 : 2 * w // 3].mean() / 3
    return float(corners < 35 and centre > corners + 15)


def keyword_bias(text: str) -> float:
    """+0.15 for ultrasound words, -0.2 for words naming other modalities or drawings (both can apply)."""
    bias = 0.0
    if _US_WORDS.search(text):
        bias += 0.15
    if _NOT_US_WORDS.search(text):
        bias -= 0.2
    return bias


def ultrasound_score(rgb: np.ndarray, caption: str = "") -> float:
    """Pixel score nudged by caption keywords, clipped to [0, 1]."""
    return round(min(1.0, max(0.0, pixel_score(rgb) + keyword_bias(caption))), 3)
