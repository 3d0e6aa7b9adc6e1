"""Is this picture an ultrasound image? A score in [0, 1] from pixels, moved by caption keywords.

The pixels are reduced to nine numbers (`features`), each a cue a sonographer would name:

- colour: share of coloured pixels. B-mode is grey; colour lives only in a Doppler box, a scale bar or a label.
- paper: share of near-white pixels. Charts, schematics and scanned text sit on paper; a frame sits on black.
- speckle: share of mid-grey pixels with a small, non-zero gradient: the granular texture of tissue.
- elongation: speckle grains are wider than tall (lateral resolution is coarser than axial), so second differences
  down the image outweigh those across it. MRI, CT, X-ray, photographs and microscopy have no such direction.
- dark_skew: the grey levels of the picture lean dark (anechoic and hypoechoic tissue) with a bright tail.
- grain: fine-scale energy left after 2x2 pooling, relative to brightness: speckle survives, smooth anatomy does not.
- symmetry: mirror correlation left-right (sector and linear frames are symmetric about the beam axis).
- fill: how much of the box around the non-black region it fills (a body slice is a blob, a frame is not).
- dark_corners: how black the top corners are.

Everything is measured on the picture pooled to at most 160 px a side (elongation also at 320 and 80 px, since grains
are a few pixels of the scanner's own frame), after cutting away a page margin, so a panel cut from a 72-300 dpi page
scan (JPEG, blur, noise) gives nearly the same numbers as the born-digital raster.
A logistic model weighs them: its weights were fitted by `scripts/fit_ultrasound.py` on real pictures (BUSI frames,
ultrasound panels and diagrams of CC BY papers, MR/CT/NM files shipped with pydicom and nibabel, scikit-image's
photographs and slides), clean and degraded as by a scanner, and checked on sources held out from the fit.

Caption words move the score: ultrasound words (+0.15) and words naming a drawing (-0.2) only nudge a borderline
picture ("echocardiography" in the caption of a colour schematic must not make it an ultrasound image), but a caption
that names another modality (MRI, T2-weighted, CT, X-ray, 磁共振, X线) and no ultrasound word overrules the pixels.
"""

from __future__ import annotations

import math
import re

import numpy as np
from PIL import Image

_US_WORDS = re.compile(
    r"ultrasound|ultrason|sonograph|sonogram|sonoelast|\becho|echoic|echogenic|doppler|b-mode|\bb mode|\bm-mode|"
    r"\bcdfi\b|\blus\b|\bceus\b|transducer|elastograph|超声|声像图|彩超|B超|回声|多普勒|CDFI|彩色血流|弹性成像",
    re.IGNORECASE,
)
# Another modality named outright: with no ultrasound word beside it, the caption decides.
_OTHER_MODALITY = re.compile(
    r"(?i:magnetic resonance|computed tomograph|x-ray|\bx ray|radiograph|mammogra|fluoroscop|angiogra|"
    r"endoscop|colonoscop|gastroscop|laparoscop|histolog|histopatholog|micrograph|\bstain(?:ed|ing)\b|"
    r"\bT[12]-?weighted|diffusion-weighted|\bFLAIR\b|scintigra)|"
    r"(?<![A-Za-z])(?:MRI|MR|CT|CTA|MRA|PET|SPECT|T1WI|T2WI|DWI)(?![A-Za-z])|H&E|"
    r"磁共振|核磁|X线|X光|钼靶|胸片|平片|内镜|胃镜|肠镜|腹腔镜|病理|镜下|染色",
)
_DRAWING_WORDS = re.compile(
    r"photograph|schematic|diagram|architecture|flow ?chart|workflow|confusion matrix|\bROC\b|"
    r"示意图|流程图|照片|模式图",
    re.IGNORECASE,
)

SIDE = 160  # features are measured at this size (elongation also at twice and half of it): cheap for every figure
_DARK = 35.0  # grey level below which a pixel is background black
_PAPER = 200.0  # grey level above which an edge row or column is page margin

# Logistic weights over `features` (raw units) and the bias, from scripts/fit_ultrasound.py.
WEIGHTS = {
    "colour": -4.3,
    "paper": -4.6,
    "speckle": 5.8,
    "elongation": 19.5,
    "dark_skew": 11.7,
    "grain": 46.6,
    "symmetry": 5.8,
    "fill": -3.3,
    "dark_corners": -4.1,
}
BIAS = -16.6


def _pooled(rgb: np.ndarray, side: int) -> np.ndarray:
    """The picture as float32 RGB, box-pooled to at most `side` px a side (striding first keeps big crops cheap)."""
    h, w = rgb.shape[:2]
    step = max(1, int(max(h, w) / side))
    a = np.ascontiguousarray(rgb[:, :, :3]) if rgb.shape[2] != 3 or rgb.strides[2] != 1 else rgb
    if step > 1:
        # Stride whole pixels (3-byte items): numpy copies a length-3 innermost axis element by element, 3x slower.
        pixels = a.view(np.dtype((np.void, 3)))[::step, ::step]
        a = np.ascontiguousarray(pixels).view(np.uint8).reshape(pixels.shape[0], pixels.shape[1], 3)
    h, w = a.shape[:2]
    scale = max(h, w) / side
    if scale > 1:
        size = (max(1, round(w / scale)), max(1, round(h / scale)))
        a = np.asarray(Image.fromarray(np.ascontiguousarray(a)).resize(size, Image.Resampling.BOX))
    return a.astype(np.float32)


def _margin(bright: np.ndarray) -> int:
    """How many leading lines are page paper (over 85% bright), at most an eighth of them."""
    limit = len(bright) // 8
    paper = bright[:limit] > 0.85
    return int(limit if paper.all() else np.argmin(paper))


def _trim_paper(lum: np.ndarray) -> tuple[slice, slice]:
    """Rows and columns left after cutting the few pixels of page paper a crop from a scanned page carries."""
    bright = lum > _PAPER
    rows, cols = bright.mean(axis=1), bright.mean(axis=0)
    t, b = _margin(rows), _margin(rows[::-1])
    left, right = _margin(cols), _margin(cols[::-1])
    return slice(t, lum.shape[0] - b), slice(left, lum.shape[1] - right)


def _elongation(lum: np.ndarray) -> float:
    """log of vertical over horizontal second differences on mid-grey texture (edges excluded)."""
    if min(lum.shape) < 5:
        return 0.0
    c = lum[1:-1, 1:-1]
    d2y = np.abs(lum[2:, 1:-1] + lum[:-2, 1:-1] - 2 * c)
    d2x = np.abs(lum[1:-1, 2:] + lum[1:-1, :-2] - 2 * c)
    m = (c > _DARK) & (c < 220) & (d2x < 60) & (d2y < 60)
    floor = 2.0 * np.count_nonzero(m) + 1  # curvature under ~2 grey levels a pixel is no texture: no direction
    return math.log((float(d2y[m].sum()) + floor) / (float(d2x[m].sum()) + floor))


def _half(a: np.ndarray) -> np.ndarray:
    """2x2 mean pooling (four strided views: a reshaped mean over two axes is several times slower)."""
    h, w = (a.shape[0] // 2) * 2, (a.shape[1] // 2) * 2
    return (a[0:h:2, 0:w:2] + a[1:h:2, 0:w:2] + a[0:h:2, 1:w:2] + a[1:h:2, 1:w:2]) * 0.25


def features(rgb: np.ndarray) -> dict[str, float] | None:
    """The nine cues of the module docstring, or None when the picture is too small to judge."""
    if rgb.ndim != 3 or min(rgb.shape[:2]) < 8:
        return None
    a = _pooled(rgb, 2 * SIDE)
    r, g, b = a[:, :, 0], a[:, :, 1], a[:, :, 2]  # per channel: reductions over a length-3 axis are slow
    fine = (r + g + b) / 3
    chroma = np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)
    keep = _trim_paper(fine)
    fine, chroma = fine[keep], chroma[keep]
    if min(fine.shape) < 16:  # a small picture is measured at its own size
        lum = fine
    else:
        lum, chroma = _half(fine), _half(chroma)
    h, w = lum.shape
    if min(h, w) < 8:
        return None
    gy = np.abs(np.diff(lum, axis=0))[:, :-1]
    gx = np.abs(np.diff(lum, axis=1))[:-1, :]
    core = lum[:-1, :-1]
    mid = (core > _DARK) & (core < 220) & (chroma[:-1, :-1] < 40)
    grad = gx + gy
    speckle = np.count_nonzero(mid & (grad >= 4) & (grad <= 60)) / (np.count_nonzero(mid) + 1.0)
    half = _half(lum)
    # speckle grains are a few pixels of the scanner's frame: look for their direction at three scales
    elongation = max(_elongation(fine), _elongation(lum), _elongation(half))
    up = np.repeat(np.repeat(half, 2, axis=0), 2, axis=1)
    crop = lum[: up.shape[0], : up.shape[1]]
    m = (crop > _DARK) & (crop < 220)
    grain = float(np.abs(crop - up)[m].mean() / (crop[m].mean() + 1)) if np.count_nonzero(m) > 10 else 0.0
    fg = lum >= _DARK
    dark_skew, fill = 0.0, 0.0
    if np.count_nonzero(fg) > 10:
        q10, q50, q90 = np.percentile(lum[fg], [10, 50, 90])
        dark_skew = float((q90 - q50) / (q90 - q10 + 1))
        ys, xs = np.nonzero(fg)
        fill = float(fg.sum()) / float((ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1))
    c = lum - lum.mean()
    symmetry = float((c * c[:, ::-1]).sum() / ((c * c).sum() + 1e-9))
    bh, bw = max(1, h // 6), max(1, w // 6)
    corners = (lum[:bh, :bw].mean() + lum[:bh, -bw:].mean()) / 2
    return {
        "colour": float(np.count_nonzero(chroma > 40)) / chroma.size,
        "paper": float(np.count_nonzero(lum > 225)) / lum.size,
        "speckle": float(speckle),
        "elongation": min(elongation, 0.35),  # past this, more direction is text lines or motion blur, not speckle
        "dark_skew": dark_skew,
        "grain": min(grain, 0.08),
        "symmetry": symmetry,
        "fill": fill,
        "dark_corners": float(np.clip((50.0 - corners) / 30.0, 0.0, 1.0)),
    }


def score_features(f: dict[str, float], weights: dict[str, float] = WEIGHTS, bias: float = BIAS) -> float:
    """The logistic model over `features`, vetoed when there is no speckle texture at all.

    The veto is outside the fit because a linear model lets cues make up for each other: a flat grey box on paper
    is symmetric, dark and has "direction" in its two edges, but without texture nothing about it is ultrasound.
    """
    z = bias + sum(weights[k] * v for k, v in f.items())
    texture = min(1.0, max(0.0, (f["speckle"] - 0.15) / 0.3))
    return texture / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def pixel_score(rgb: np.ndarray) -> float:
    """Probability-like score from pixels alone, in [0, 1]."""
    f = features(rgb)
    return 0.0 if f is None else score_features(f)


def keyword_bias(text: str) -> float:
    """+0.15 for ultrasound words, -0.2 for drawings; -0.6 for another modality named with no ultrasound word."""
    us = bool(_US_WORDS.search(text))
    bias = 0.15 if us else 0.0
    if _OTHER_MODALITY.search(text):
        bias -= 0.2 if us else 0.6
    elif _DRAWING_WORDS.search(text):
        bias -= 0.2
    return bias


def ultrasound_score(rgb: np.ndarray, caption: str = "") -> float:
    """Pixel score moved by caption keywords, clipped to [0, 1]."""
    return round(min(1.0, max(0.0, float(pixel_score(rgb)) + keyword_bias(caption))), 3)
