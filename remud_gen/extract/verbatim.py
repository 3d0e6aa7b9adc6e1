"""Embedded JPEGs that a page shows exactly as stored, so their own bytes can stand in for a render of their box.

A crop is normally rendered from the page, which keeps overlaid arrows and labels and applies colour management.
For a JPEG that nothing touches, the stored stream is the same picture at its full resolution, without rendering
or PNG encoding. "Nothing touches" is checked on the device calls MuPDF makes when it draws the page (the display
list the crops are rendered from), not guessed from extracted text and drawings. An image qualifies only when:

- it is a DCT (JPEG) stream, 8 bits, 1 or 3 components, no /Decode, no colour-key or soft/stencil mask, not an
  image mask, no EXIF rotation and no ICC profile of its own inside the JPEG, and MuPDF's decode of the stream
  matches a plain JPEG decoder's (PIL): a /ColorTransform override or a colour-space guess the two make
  differently is off by 60 grey levels and more, decoder rounding by under 1. MuPDF decodes at 1/8 scale (DCT
  scaling, a fraction of a full decode) and PIL's full decode is box-averaged to match;
- its colour space converts to the render's sRGB as the identity. That is measured, not assumed from a name:
  MuPDF converts a grid of 5832 colours (all 256 levels for grey) from the colour space in effect (the
  image's own, or for DeviceGray/DeviceRGB the page's /DefaultGray, /DefaultRGB or output intent) and none may
  move by more than one level. sRGB profiles from other makers pass (they convert exactly); Apple's Generic RGB
  moves colours by up to 64 levels and is rendered. The verdict is kept per profile digest;
- it is placed upright and unflipped (no rotation, no skew) inside the page, painted with alpha 1;
- every clip in force is an axis-aligned rectangle holding the whole image (no clipping path, text clip or soft
  mask cuts it), no blend mode or group opacity applies, and it is not part of a tiling pattern;
- nothing painted after it (path, text, shading, image, pattern) overlaps its box; anything painted before it is
  hidden, since the image is opaque. Paths, shadings and images are placed by their exact bounds. A text object's
  bounds span all its lines (a page of body text around a picture is often one object), so when they overlap
  the image the page's text lines decide instead, measured on the glyph outlines (MuPDF's accurate text boxes,
  not the font's ascent and descent) and grown by half a point for anti-aliasing. Invisible text (render mode 3)
  paints nothing and is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pymupdf

from remud_gen.extract.jpegcheck import as_viewers_see_it, converts_as_is
from remud_gen.extract.model import BBox

mupdf = pymupdf.mupdf
_EPS = 0.05  # points: a clip edge this close to the image edge cuts nothing visible at any usual dpi
_PROOF_SCALE = 8  # MuPDF's decode for the comparison is this many times smaller on each side


@dataclass(frozen=True)
class Verbatim:
    """One JPEG placement shown unaltered: its box on the page, its stored bytes and their (H, W, 3) pixels."""

    bbox: BBox
    data: bytes
    rgb: np.ndarray


@dataclass
class _Candidate:
    seq: int
    bbox: BBox
    data: bytes
    size: tuple[int, int]  # width, height
    small: np.ndarray  # MuPDF's decode at 1/_PROOF_SCALE, (h, w, n)


def _rect(r: Any) -> BBox:
    return (float(r.x0), float(r.y0), float(r.x1), float(r.y1))


def _overlaps(a: BBox, b: BBox) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > _EPS and min(a[3], b[3]) - max(a[1], b[1]) > _EPS


def _holds(outer: BBox, inner: BBox) -> bool:
    return (
        outer[0] <= inner[0] + _EPS
        and outer[1] <= inner[1] + _EPS
        and outer[2] >= inner[2] - _EPS
        and outer[3] >= inner[3] - _EPS
    )


class _Probe(mupdf.FzDevice2):  # type: ignore[name-defined]
    """Records what is painted where, in order, and which JPEG placements are drawn plainly."""

    def __init__(self, page_box: BBox) -> None:
        super().__init__()
        self.page_box = page_box
        self.seq = 0
        self.painted: list[tuple[int, BBox, bool]] = []  # order, box, is text
        self.candidates: list[_Candidate] = []
        self.clips: list[BBox | None] = []  # None: a clip that is not a plain rectangle (or a soft mask)
        self.plain_groups: list[bool] = []
        self.tiles = 0
        self.defaults: dict[int, Any] = {}  # what DeviceGray (1) and DeviceRGB (3) images are drawn in
        for name in (
            "fill_path",
            "stroke_path",
            "clip_path",
            "clip_stroke_path",
            "fill_text",
            "stroke_text",
            "clip_text",
            "clip_stroke_text",
            "ignore_text",
            "fill_shade",
            "fill_image",
            "fill_image_mask",
            "clip_image_mask",
            "pop_clip",
            "begin_mask",
            "end_mask",
            "begin_group",
            "end_group",
            "begin_tile",
            "end_tile",
            "set_default_colorspaces",
        ):
            getattr(self, f"use_virtual_{name}")()

    def _paint(self, box: BBox, text: bool = False) -> None:
        self.seq += 1
        self.painted.append((self.seq, box, text))

    # Painting calls: only their box and order matter.
    def fill_path(self, ctx: Any, path: Any, even_odd: Any, ctm: Any, *args: Any) -> None:
        self._paint(_rect(mupdf.ll_fz_bound_path(path, None, ctm)))

    def stroke_path(self, ctx: Any, path: Any, stroke: Any, ctm: Any, *args: Any) -> None:
        self._paint(_rect(mupdf.ll_fz_bound_path(path, stroke, ctm)))

    def fill_text(self, ctx: Any, text: Any, ctm: Any, *args: Any) -> None:
        self._paint(_rect(mupdf.ll_fz_bound_text(text, None, ctm)), text=True)

    def stroke_text(self, ctx: Any, text: Any, stroke: Any, ctm: Any, *args: Any) -> None:
        self._paint(_rect(mupdf.ll_fz_bound_text(text, stroke, ctm)), text=True)

    def ignore_text(self, ctx: Any, text: Any, ctm: Any) -> None:
        pass  # invisible text paints nothing

    def fill_shade(self, ctx: Any, shade: Any, ctm: Any, *args: Any) -> None:
        self._paint(_rect(mupdf.ll_fz_bound_shade(shade, ctm)))

    def fill_image_mask(self, ctx: Any, image: Any, ctm: Any, *args: Any) -> None:
        self._paint(_rect(mupdf.ll_fz_transform_rect(mupdf.fz_unit_rect, ctm)))

    def fill_image(self, ctx: Any, image: Any, ctm: Any, alpha: float, color_params: Any) -> None:
        box = _rect(mupdf.ll_fz_transform_rect(mupdf.fz_unit_rect, ctm))
        self._paint(box)
        try:
            found = self._plain_jpeg(image, ctm, alpha, box)
        except Exception:  # anything unexpected about an image only means it is rendered like the rest
            found = None
        if found is not None:
            self.candidates.append(_Candidate(self.seq, box, *found))

    # State calls: clips, masks, groups, tiles.
    def clip_path(self, ctx: Any, path: Any, even_odd: Any, ctm: Any, scissor: Any) -> None:
        bounds = mupdf.FzRect()
        is_rect = mupdf.ll_fz_path_is_rect_with_bounds(path, ctm, bounds.internal())
        self.clips.append(_rect(bounds) if is_rect else None)

    def clip_stroke_path(self, ctx: Any, *args: Any) -> None:
        self.clips.append(None)

    def clip_text(self, ctx: Any, *args: Any) -> None:
        self.clips.append(None)

    def clip_stroke_text(self, ctx: Any, *args: Any) -> None:
        self.clips.append(None)

    def clip_image_mask(self, ctx: Any, *args: Any) -> None:
        self.clips.append(None)

    def begin_mask(self, ctx: Any, *args: Any) -> None:
        self.clips.append(None)  # a soft mask stays in force until its pop_clip

    def end_mask(self, ctx: Any, *args: Any) -> None:
        pass

    def pop_clip(self, ctx: Any) -> None:
        if self.clips:
            self.clips.pop()

    def begin_group(
        self, ctx: Any, area: Any, cs: Any, isolated: int, knockout: int, blendmode: int, alpha: float
    ) -> None:
        self.plain_groups.append(blendmode == 0 and alpha >= 1.0)

    def end_group(self, ctx: Any) -> None:
        if self.plain_groups:
            self.plain_groups.pop()

    def begin_tile(self, ctx: Any, area: Any, *args: Any) -> int:
        self._paint(_rect(area))
        self.tiles += 1
        return 0

    def end_tile(self, ctx: Any) -> None:
        self.tiles = max(0, self.tiles - 1)

    def set_default_colorspaces(self, ctx: Any, default_cs: Any) -> None:
        # A /DefaultGray or /DefaultRGB (or an output intent) recolours device-space images.
        self.defaults = {1: mupdf.ll_fz_default_gray(default_cs), 3: mupdf.ll_fz_default_rgb(default_cs)}

    def _plain_jpeg(
        self, image: Any, ctm: Any, alpha: float, box: BBox
    ) -> tuple[bytes, tuple[int, int], np.ndarray] | None:
        upright = ctm.a > 0 and ctm.d > 0 and abs(ctm.b) < 1e-6 and abs(ctm.c) < 1e-6
        if not upright or alpha < 1.0 or self.tiles or not all(self.plain_groups):
            return None
        if not _holds(self.page_box, box) or not all(c is not None and _holds(c, box) for c in self.clips):
            return None
        if image.n not in (1, 3) or image.bpc != 8 or image.imagemask or image.use_decode or image.use_colorkey:
            return None
        if image.mask or image.orientation > 1:
            return None
        cs = image.colorspace
        if mupdf.ll_fz_colorspace_is_device(cs) and self.defaults.get(image.n):
            cs = self.defaults[image.n]
        if mupdf.ll_fz_colorspace_n(cs) != image.n or not converts_as_is(cs):
            return None
        cbuf = mupdf.ll_fz_compressed_image_buffer(image)
        if not cbuf or cbuf.params.type != mupdf.FZ_IMAGE_JPEG:
            return None
        data = bytes(mupdf.fz_buffer_extract_copy(mupdf.FzBuffer(mupdf.ll_fz_keep_buffer(cbuf.buffer))))
        w, h = int(image.w), int(image.h)
        # Asking for 1/16 of the size makes MuPDF decode at 1/8 with libjpeg's DCT scaling (it rounds up).
        everything = mupdf.FzIrect(-(1 << 30), -(1 << 30), 1 << 30, 1 << 30)
        target = mupdf.FzMatrix(w / (2 * _PROOF_SCALE), 0, 0, h / (2 * _PROOF_SCALE), 0, 0)
        pix, _, _ = mupdf.fz_get_pixmap_from_image(mupdf.FzImage(mupdf.ll_fz_keep_image(image)), everything, target)
        if pix.n() != image.n or pix.alpha():
            return None
        rows = np.frombuffer(mupdf.fz_pixmap_samples_memoryview(pix), dtype=np.uint8).reshape(pix.h(), pix.stride())
        return data, (w, h), rows[:, : pix.w() * pix.n()].reshape(pix.h(), pix.w(), pix.n()).copy()


def _ink_lines(dl: pymupdf.DisplayList) -> list[BBox]:
    """Every text line of the page, boxed around its glyph outlines and grown by half a point."""
    options = mupdf.FzStextOptions()
    options.flags = pymupdf.TEXT_ACCURATE_BBOXES
    stext = mupdf.FzStextPage(dl.this, options)
    out: list[BBox] = []
    for block in stext:
        if block.m_internal.type != mupdf.FZ_STEXT_BLOCK_TEXT:
            continue
        for line in block:
            x0, y0, x1, y1 = _rect(line.m_internal.bbox)
            out.append((x0 - 0.5, y0 - 0.5, x1 + 0.5, y1 + 0.5))
    return out


def verbatim_jpegs(dl: pymupdf.DisplayList, page_box: BBox) -> list[Verbatim]:
    """JPEG placements of a page's display list that the page shows exactly as stored (see the module docstring).

    Args:
        dl: the page's display list (annotations excluded, as for the crops).
        page_box: the page rectangle in the same coordinates.
    """
    probe = _Probe(page_box)
    try:
        everywhere = mupdf.FzRect(mupdf.FzRect.Fixed_INFINITE)
        mupdf.fz_run_display_list(dl.this, probe, mupdf.FzMatrix(), everywhere, mupdf.FzCookie())
        mupdf.fz_close_device(probe)
    except Exception:  # a device error only costs the shortcut
        return []
    out: list[Verbatim] = []
    lines: list[BBox] | None = None
    for c in probe.candidates:
        later = [text for seq, box, text in probe.painted if seq > c.seq and _overlaps(box, c.bbox)]
        if not all(later):
            continue
        if later:
            lines = _ink_lines(dl) if lines is None else lines
            if any(_overlaps(b, c.bbox) for b in lines):
                continue
        rgb = as_viewers_see_it(c.data, c.size, c.small)
        if rgb is not None:
            out.append(Verbatim(c.bbox, c.data, rgb))
    return out
