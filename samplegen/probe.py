"""Geometry of a B-mode field of view: which pixels the probe sees, and where.

Every pixel gets a depth `z` (0 at the transducer face, 1 at the bottom of the field of view) and a lateral
coordinate `lat` (distance from the centre line along the arc, in the same unit as `z`, so shapes drawn in
(lat, z) keep their proportions). Anatomy is described in (lat, z), so the same scene warps into a fan for a curved
array and stays a rectangle for a linear one, as it does on a real scanner.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

Mode = Literal["sector", "linear"]
# float32 in practice (half the memory traffic); typed loosely because numpy's stubs widen scalar arithmetic
FloatArray = NDArray[np.floating[Any]]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Probe:
    """Where the field of view sits in a frame of `width` x `height` pixels (all lengths in pixels).

    Attributes:
        mode: "sector" (curved array, fan-shaped) or "linear" (rectangular field).
        depth_cm: Imaging depth shown by the depth scale.
        px_per_cm: Pixels per centimetre along the beam, for calipers and the scale.
        top: Y of the transducer face on the centre line.
        depth_px: Length of the field of view along a beam.
    """

    mode: Mode
    width: int
    height: int
    depth_cm: float
    top: float
    depth_px: float
    apex_x: float = 0.0
    apex_y: float = 0.0
    radius0: float = 0.0
    half_angle: float = 0.0
    left: float = 0.0
    right: float = 0.0

    @property
    def px_per_cm(self) -> float:
        return self.depth_px / self.depth_cm

    def to_px(self, lat: float, z: float) -> tuple[float, float]:
        """Map a probe coordinate (lat, z) to a pixel position (x, y)."""
        if self.mode == "sector":
            r = self.radius0 + z * self.depth_px
            th = lat * self.depth_px / r
            return self.apex_x + r * math.sin(th), self.apex_y + r * math.cos(th)
        return (self.left + self.right) / 2 + lat * self.depth_px, self.top + z * self.depth_px

    def lat_max(self, z: float) -> float:
        """Half width of the field of view at depth z, in lateral units."""
        if self.mode == "sector":
            return (self.radius0 + z * self.depth_px) * self.half_angle / self.depth_px
        return (self.right - self.left) / 2 / self.depth_px

    def inside(self) -> BoolArray:
        """Full-resolution mask of the field of view (no trigonometry: it is the one full-size geometry array)."""
        ys = np.arange(self.height, dtype=np.float32)[:, None] + np.float32(0.5)
        xs = np.arange(self.width, dtype=np.float32)[None, :] + np.float32(0.5)
        if self.mode == "sector":
            dx, dy = xs - np.float32(self.apex_x), ys - np.float32(self.apex_y)
            r2 = dx * dx + dy * dy
            r_out = self.radius0 + self.depth_px
            in_ring = (r2 >= self.radius0**2) & (r2 <= r_out**2)
            mask: BoolArray = in_ring & (np.abs(dx) <= np.float32(math.tan(self.half_angle)) * dy)
            return mask
        rows = (ys >= self.top) & (ys <= self.top + self.depth_px)
        cols = (xs >= self.left) & (xs <= self.right)
        return rows & cols

    def grid(self, step: int = 1) -> Grid:
        """Probe coordinates sampled every `step` pixels (anatomy is smooth enough for step 2)."""
        ys = np.arange(0, self.height, step, dtype=np.float32)[:, None] + np.float32(step / 2)
        xs = np.arange(0, self.width, step, dtype=np.float32)[None, :] + np.float32(step / 2)
        shape = (ys.shape[0], xs.shape[1])
        if self.mode == "sector":
            dx, dy = xs - np.float32(self.apex_x), ys - np.float32(self.apex_y)
            r = np.sqrt(dx * dx + dy * dy)
            theta = np.arctan2(dx, dy)
            return Grid(self, r * theta / self.depth_px, theta / self.half_angle, (r - self.radius0) / self.depth_px)
        centre, half = (self.left + self.right) / 2, (self.right - self.left) / 2
        z = np.broadcast_to((ys - self.top) / self.depth_px, shape)
        return Grid(
            self, np.broadcast_to((xs - centre) / self.depth_px, shape), np.broadcast_to((xs - centre) / half, shape), z
        )


@dataclass(frozen=True)
class Grid:
    """Per-pixel probe coordinates: `lat` (arc length from the centre line, depth units), `u` (lateral, -1..1
    across the field of view) and `z` (depth, 0..1)."""

    probe: Probe
    lat: FloatArray
    u: FloatArray
    z: FloatArray

    def ray_lat(self, at_z: float) -> FloatArray:
        """Lateral position of each pixel's beam line traced back to depth `at_z` (beams fan out in a sector)."""
        p = self.probe
        if p.mode == "sector":
            out: FloatArray = self.lat * ((p.radius0 + at_z * p.depth_px) / (p.radius0 + self.z * p.depth_px))
            return out
        return self.lat


def make_probe(width: int, height: int, mode: Mode, depth_cm: float) -> Probe:
    """Lay out the field of view for a frame, leaving black margins for the vendor overlay.

    Args:
        width: Frame width in pixels (at least 64).
        height: Frame height in pixels (at least 48).
        mode: "sector" or "linear".
        depth_cm: Imaging depth in centimetres.

    Raises:
        ValueError: If the frame is too small or the mode is unknown.
    """
    if width < 64 or height < 48:
        raise ValueError(f"frame {width}x{height} is too small (need at least 64x48)")
    top = 0.07 * height
    if mode == "sector":
        depth_px, radius0 = 0.84 * height, 0.16 * height
        reach = radius0 + depth_px
        half_angle = min(math.radians(36), math.asin(min(0.99, 0.40 * width / reach)))
        left, right = width / 2 - reach * math.sin(half_angle), width / 2 + reach * math.sin(half_angle)
        return Probe(
            mode, width, height, depth_cm, top, depth_px, width / 2, top - radius0, radius0, half_angle, left, right
        )
    if mode == "linear":
        return Probe(mode, width, height, depth_cm, top, 0.86 * height, left=0.17 * width, right=0.83 * width)
    raise ValueError(f"unknown probe mode {mode!r} (expected 'sector' or 'linear')")
