"""Skewed scans: the page's tilt, measured from its own ink, and boxes mapped between tilted and straight pages.

A page fed a little crooked through a scanner (up to a few degrees) tilts every text line and every frame edge. On
the straight page the gutters between frames are clean rows and columns of paper again; on the tilted one they are
not, and frames bleed into the title banner above them. The tilt is the angle at which the rows of ink are
sharpest: the sum of squared differences between neighbouring rows' ink counts peaks when text lines and frame
edges run along the rows. It is searched over +-`MAX_DEGREES`, coarse then fine, on a small copy of the page.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

MAX_DEGREES = 3.0
MIN_DEGREES = 0.25  # a smaller tilt moves a frame edge by under ~1 px a hundred: not worth a resample
_SIDE = 600  # the tilt is measured on the page at this height


def skew_angle(grey: np.ndarray) -> float:
    """The page's tilt in degrees (counter-clockwise positive, as `cv2.getRotationMatrix2D` takes it), or 0.0."""
    height, width = grey.shape[:2]
    scale = min(1.0, _SIDE / height)
    small = cv2.resize(
        grey, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA
    )
    paper = int(np.percentile(small, 90))
    ink = (small.astype(np.int16) < paper - 60).astype(np.float32)
    if ink.mean() < 0.002:
        return 0.0
    coarse = np.arange(-MAX_DEGREES, MAX_DEGREES + 1e-6, 0.25)
    best = max(coarse, key=lambda a: _sharpness(ink, a))
    fine = np.arange(best - 0.25, best + 0.25 + 1e-6, 0.05)
    angle = float(max(fine, key=lambda a: _sharpness(ink, a)))
    return angle if abs(angle) >= MIN_DEGREES else 0.0


def _sharpness(ink: np.ndarray, angle: float) -> float:
    """How sharply the row sums of `ink` change once the page is turned by `-angle` (straightened)."""
    h, w = ink.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), -angle, 1.0)
    turned = cv2.warpAffine(ink, matrix, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
    rows = turned.sum(axis=1)
    return float(np.sum(np.diff(rows) ** 2))


def straighten(rgb: np.ndarray, angle: float) -> np.ndarray:
    """The page turned by `-angle` about its centre (same size), the corners filled with the page's paper colour."""
    h, w = rgb.shape[:2]
    paper = np.median(np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]), axis=0)
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), -angle, 1.0)
    return cv2.warpAffine(
        rgb, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=paper.tolist()
    )


def tilt_box(
    box: tuple[float, float, float, float], angle: float, size: tuple[int, int]
) -> tuple[float, float, float, float]:
    """A box on the straightened page as it lies on the tilted one: the upright box around its turned corners.

    Args:
        box: (x0, y0, x1, y1) on the straightened page.
        angle: the page's tilt (`skew_angle`).
        size: (width, height) of the page in the same pixels.
    """
    if not angle:
        return box
    w, h = size
    cx, cy = w / 2, h / 2
    theta = math.radians(angle)
    cos, sin = math.cos(theta), math.sin(theta)
    xs, ys = [], []
    for x, y in ((box[0], box[1]), (box[2], box[1]), (box[0], box[3]), (box[2], box[3])):
        dx, dy = x - cx, y - cy
        # cv2 turns counter-clockwise on screen (y down) for a positive angle: x' = c dx + s dy, y' = -s dx + c dy.
        xs.append(cx + cos * dx + sin * dy)
        ys.append(cy - sin * dx + cos * dy)
    return (max(0.0, min(xs)), max(0.0, min(ys)), min(float(w), max(xs)), min(float(h), max(ys)))
