"""Echogenicity maps of a few organs, drawn in probe coordinates.

A scene is what the tissue would reflect before speckle and attenuation: a reflectivity map, a multiplier for
posterior enhancement (behind fluid) and acoustic shadowing (behind stones and some solid masses), the signed flow
in vessels for colour Doppler, and where the sonographer put the calipers. Levels are relative: 1.0 is a bright
tissue such as renal sinus fat, 0.02 is fluid.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

from samplegen.probe import FloatArray, Grid

Organ = Literal["kidney", "liver", "thyroid", "breast"]
Lesion = Literal["none", "cyst", "stone", "mass"]
ORGANS: tuple[Organ, ...] = ("kidney", "liver", "thyroid", "breast")
Point = tuple[float, float]


@dataclass
class Scene:
    """Tissue of one frame in (lat, z); `calipers` are the two measured end points."""

    refl: FloatArray
    gain: FloatArray
    flow: FloatArray
    calipers: tuple[Point, Point]
    body_mark: str
    preset: str


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> FloatArray:
    """Low-frequency noise in [0, 1]: a coarse random grid upsampled bicubically (cheap, no scipy)."""
    coarse = rng.random((max(2, cells * shape[0] // max(shape)), max(2, cells * shape[1] // max(shape))))
    img = Image.fromarray((coarse * 255).astype(np.uint8)).resize((shape[1], shape[0]), Image.Resampling.BICUBIC)
    return np.asarray(img, dtype=np.float32) / np.float32(255.0)


def _frame(p: Grid, lc: float, zc: float, a: float, b: float, rot: float) -> tuple[FloatArray, FloatArray]:
    dl, dz = p.lat - np.float32(lc), p.z - np.float32(zc)
    c, s = np.float32(math.cos(rot)), np.float32(math.sin(rot))
    return (dl * c + dz * s) / np.float32(a), (dz * c - dl * s) / np.float32(b)


def ellipse(p: Grid, lc: float, zc: float, a: float, b: float, rot: float = 0.0) -> FloatArray:
    """Normalised radius of every pixel relative to an ellipse (1 on the outline)."""
    x, y = _frame(p, lc, zc, a, b, rot)
    out: FloatArray = np.sqrt(x * x + y * y)
    return out


def polar(p: Grid, lc: float, zc: float, a: float, b: float, rot: float = 0.0) -> tuple[FloatArray, FloatArray]:
    """Normalised radius and polar angle of every pixel relative to an ellipse."""
    x, y = _frame(p, lc, zc, a, b, rot)
    return np.sqrt(x * x + y * y), np.arctan2(y, x)


def band(x: FloatArray, centre: FloatArray | float, width: float) -> FloatArray:
    """A soft line of half-width `width` around `centre` (for fascia, capsules and walls)."""
    d = (x - centre) * np.float32(1.0 / width)
    out: FloatArray = np.exp(-(d * d))
    return out


def behind(p: Grid, lc: float, zc: float, a: float, strength: float, decay: float) -> FloatArray:
    """Gain multiplier for the beams passing through a lesion: >1 enhancement behind fluid, <1 a shadow."""
    offset = np.abs(p.ray_lat(zc) - lc) / a
    window = np.clip((1.0 - offset) * 3.0, 0.0, 1.0) * (p.z > zc)
    fade = np.exp(-np.clip(p.z - zc, 0.0, None) / decay)
    edge_shadow = 1.0 - 0.45 * band(offset, 1.0, 0.08) * (p.z > zc) if strength > 1 else 1.0
    out: FloatArray = (1.0 + (strength - 1.0) * window * (fade if strength > 1 else 1.0)) * edge_shadow
    return out


def _skin(p: Grid, rng: np.random.Generator, base: float) -> FloatArray:
    """Base parenchyma with skin, subcutaneous fat and one bright fascial interface line."""
    refl = base * (0.85 + 0.3 * smooth_noise(rng, p.z.shape, 8))
    refl = np.where(p.z < 0.07, 0.3, refl)
    fascia = 0.075 + 0.012 * np.sin(3.0 * p.lat + rng.uniform(0, 6))
    refl = refl + 1.3 * band(p.z, 0.012, 0.006) + 1.5 * band(p.z, fascia, 0.006)
    return refl


def _kidney(p: Grid, rng: np.random.Generator, lesion: Lesion) -> Scene:
    refl, gain, flow = _skin(p, rng, 0.42), np.ones_like(p.z), np.zeros_like(p.z)
    lc, zc, a, b, rot = rng.uniform(-0.04, 0.04), rng.uniform(0.5, 0.58), 0.36, 0.17, rng.uniform(-0.2, 0.05)
    rho, phi = polar(p, lc, zc, a, b, rot)
    sinus = ellipse(p, lc, zc + 0.01, a * 0.7, b * 0.38, rot)
    phase = rng.uniform(0, 6.3)
    pyramid = (rho > 0.45) & (rho < 0.78) & (sinus > 1.0) & (np.cos(7 * phi + phase) > 0.05)
    cortex = rng.uniform(0.45, 0.8)
    refl = np.where((rho > 1.0) & (rho < 1.18), 0.8, refl)
    refl = np.where(rho <= 1.0, cortex, refl)
    refl = np.where(pyramid, 0.12, refl)
    refl = np.where(sinus < 1.0, 0.95 * (0.7 + 0.6 * smooth_noise(rng, p.z.shape, 20)), refl)
    refl = refl + 1.1 * band(rho, 1.0, 0.03)
    vessel = (rho > 0.3) & (rho < 0.92) & (np.cos(7 * phi + phase) < -0.9)
    flow = np.where(vessel, np.sign(zc - p.z) * (1.1 - rho), 0.0)
    if lesion == "cyst":
        cl, cz = lc - a * 0.55 * math.cos(rot), zc - a * 0.55 * math.sin(rot) - 0.03
        crho = ellipse(p, cl, cz, 0.075, 0.062)
        refl = np.where(crho < 1.0, 0.02, refl) + 0.8 * band(crho, 1.0, 0.06) * (p.z > cz)
        gain = gain * behind(p, cl, cz, 0.075, 1.8, 0.25)
    elif lesion in ("stone", "mass"):
        sl, sz = lc + 0.06, zc + 0.01
        srho = ellipse(p, sl, sz, 0.03, 0.02)
        refl = np.where(srho < 1.0, 3.0, refl)
        gain = gain * behind(p, sl, sz + 0.02, 0.03, 0.1, 1.0)
    ends = ((lc - a * math.cos(rot), zc - a * math.sin(rot)), (lc + a * math.cos(rot), zc + a * math.sin(rot)))
    return Scene(refl, gain, flow, ends, ("LK", "RK")[int(rng.integers(2))], "C5-1  Abd")


def _liver(p: Grid, rng: np.random.Generator, lesion: Lesion) -> Scene:
    refl, gain, flow = _skin(p, rng, 0.5), np.ones_like(p.z), np.zeros_like(p.z)
    for k in range(3):
        vl, vz = rng.uniform(-0.3, 0.3), rng.uniform(0.3, 0.7)
        vrho = ellipse(p, vl, vz, rng.uniform(0.06, 0.14), 0.025, rng.uniform(-0.8, 0.8))
        refl = np.where(vrho < 1.0, 0.03, refl) + (1.0 * band(vrho, 1.1, 0.12) if k < 2 else 0.0)
        flow = np.where(vrho < 1.0, (1.0 if k < 2 else -1.0) * (1.0 - vrho**2), flow)
    diaphragm = 0.86 - 0.35 * p.lat**2
    refl = np.where(p.z > diaphragm, 0.3, refl) + 2.2 * band(p.z, diaphragm, 0.012)
    ends: tuple[Point, Point] = ((-0.25, 0.25), (0.25, 0.25))
    if lesion in ("cyst", "mass"):
        cl, cz, ca, cb = rng.uniform(-0.1, 0.15), rng.uniform(0.38, 0.48), 0.11, 0.09
        crho = ellipse(p, cl, cz, ca, cb)
        inside = 0.02 if lesion == "cyst" else 1.15
        refl = np.where(crho < 1.0, inside, refl) + 0.6 * band(crho, 1.0, 0.05) * (p.z > cz)
        gain = gain * behind(p, cl, cz, ca, 1.8 if lesion == "cyst" else 1.1, 0.3)
        ends = ((cl - ca, cz), (cl + ca, cz))
    return Scene(refl, gain, flow, ends, "RL", "C5-1  Abd")


def _thyroid(p: Grid, rng: np.random.Generator, lesion: Lesion) -> Scene:
    refl, gain, flow = _skin(p, rng, 0.3), np.ones_like(p.z), np.zeros_like(p.z)
    refl = np.where((p.z > 0.1) & (p.z < 0.22), 0.28 + 0.12 * np.sin(p.z * 140), refl)
    lc, zc, a, b = rng.uniform(-0.12, -0.02), 0.48, 0.3, 0.22
    rho = ellipse(p, lc, zc, a, b)
    refl = np.where(rho < 1.0, 0.8, refl) + 0.7 * band(rho, 1.0, 0.03)
    ca_rho = ellipse(p, 0.36, 0.52, 0.1, 0.1)
    refl = np.where(ca_rho < 1.0, 0.02, refl) + 1.4 * band(ca_rho, 1.05, 0.06)
    gain = gain * behind(p, 0.36, 0.52, 0.1, 1.5, 0.4)
    flow = np.where(ca_rho < 1.0, 1.0 - ca_rho**2, flow)
    tr_rho = ellipse(p, -0.5, 0.42, 0.14, 0.12)
    refl = refl + 2.0 * band(tr_rho, 1.0, 0.05) * (p.z < 0.42)
    gain = gain * behind(p, -0.5, 0.36, 0.12, 0.25, 1.0)
    ends: tuple[Point, Point] = ((lc, zc - b), (lc, zc + b))
    if lesion != "none":
        nl, nz = lc + rng.uniform(-0.08, 0.08), zc + rng.uniform(-0.04, 0.04)
        nrho = ellipse(p, nl, nz, 0.09, 0.07)
        refl = np.where(nrho < 1.0, 0.02 if lesion == "cyst" else 0.22, refl)
        gain = gain * behind(p, nl, nz, 0.09, 1.6 if lesion == "cyst" else 0.9, 0.3)
        ends = ((nl - 0.09, nz), (nl + 0.09, nz))
    return Scene(refl, gain, flow, ends, "R THY TRV", "L12-5  Thy")


def _breast(p: Grid, rng: np.random.Generator, lesion: Lesion) -> Scene:
    refl, gain, flow = _skin(p, rng, 0.22), np.ones_like(p.z), np.zeros_like(p.z)
    septa = smooth_noise(rng, p.z.shape, 22)
    refl = refl + 0.9 * band(septa, 0.5, 0.02) * (p.z > 0.08) * (p.z < 0.3)
    gland_top = 0.28 + 0.05 * np.sin(5 * p.lat + rng.uniform(0, 6))
    gland = (p.z > gland_top) & (p.z < 0.62)
    refl = np.where(gland, 0.75 * (0.6 + 0.8 * smooth_noise(rng, p.z.shape, 24)), refl)
    refl = np.where((p.z > 0.72) & (p.z < 0.88), 0.32 + 0.12 * np.sin(p.z * 120), refl)
    ends: tuple[Point, Point] = ((-0.2, 0.45), (0.2, 0.45))
    if lesion != "none":
        ml, mz, ma, mb = rng.uniform(-0.1, 0.1), 0.44, 0.17, 0.1
        rho, phi = polar(p, ml, mz, ma, mb)
        spiky = rho * (1.0 + (0.12 if lesion == "mass" else 0.0) * np.sin(6 * phi + rng.uniform(0, 6)))
        refl = np.where(spiky < 1.0, 0.02 if lesion == "cyst" else 0.1, refl)
        gain = gain * behind(p, ml, mz, ma, 1.7 if lesion == "cyst" else 0.45, 0.3)
        flow = np.where((spiky > 1.0) & (spiky < 1.12) & (np.cos(3 * phi) > 0.8), 0.8, flow)
        ends = ((ml - ma, mz), (ml + ma, mz))
    return Scene(refl, gain, flow, ends, "L BR 10:00", "L12-5  Bre")


SCENES: dict[Organ, Callable[[Grid, np.random.Generator, Lesion], Scene]] = {
    "kidney": _kidney,
    "liver": _liver,
    "thyroid": _thyroid,
    "breast": _breast,
}
DEPTH_CM: dict[Organ, float] = {"kidney": 16.0, "liver": 18.0, "thyroid": 4.0, "breast": 4.5}


def build_scene(p: Grid, organ: Organ, lesion: Lesion, rng: np.random.Generator) -> Scene:
    """Draw the tissue of one organ with an optional lesion.

    Raises:
        ValueError: If the organ is unknown.
    """
    if organ not in SCENES:
        raise ValueError(f"unknown organ {organ!r} (expected one of {', '.join(ORGANS)})")
    return SCENES[organ](p, rng, lesion)
