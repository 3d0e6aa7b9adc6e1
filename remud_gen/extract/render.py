"""Second pass: render each figure draft, split multi-panel rasters, score ultrasound, store crops, make records.

A page's content is parsed once into a display list that every crop on it is rendered from. A draft that is exactly
one JPEG the page shows untouched keeps that JPEG's own bytes instead of a render (`remud_gen.extract.verbatim`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pymupdf

from remud_gen.extract.captions import lowercase_panels, panel_sentences
from remud_gen.extract.crops import png_bytes, render, store, store_pixels, sub_box, to_array
from remud_gen.extract.grouping import Draft
from remud_gen.extract.model import BBox
from remud_gen.extract.panels import split_panels
from remud_gen.extract.settings import ExtractSettings
from remud_gen.extract.ultrasound import ultrasound_score
from remud_gen.extract.verbatim import Verbatim, verbatim_jpegs
from remud_gen.records import Figure, FigureSource, Language

_SAME_BOX = 0.05  # points


def render_page_figures(
    page: pymupdf.Page,
    drafts: list[Draft],
    *,
    work: Path,
    doc: str,
    prefix: str,
    language: Language,
    settings: ExtractSettings,
    rasters: list[BBox] | None = None,
) -> list[Figure]:
    """Figure records for one page's drafts (crops written under WORK/extract/images).

    `rasters` (the page's image placements) spares the search for untouched JPEGs on pages where no draft is
    exactly one image; None searches every page.
    """
    size = (float(page.rect.width), float(page.rect.height))
    dl = page.get_displaylist(annots=False)
    page_image = None
    if settings.keep_page_images and drafts:
        pix = render(dl, None, settings.dpi, settings.max_render_pixels)
        page_image = store(work, png_bytes(to_array(pix)))
        del pix
    plain: list[Verbatim] = []
    if settings.keep_jpegs and any(_one_image(d, rasters) for d in drafts):
        plain = verbatim_jpegs(dl, tuple(page.rect))
    out: list[Figure] = []
    for d in drafts:
        jpeg = next((v for v in plain if d.source == "embedded" and _same_box(v.bbox, d.bbox)), None)
        if jpeg is not None:
            rgb = jpeg.rgb
        else:
            pix = render(dl, d.bbox, settings.dpi, settings.max_render_pixels)
            rgb = to_array(pix)
            del pix
        scale = rgb.shape[1] / max(d.bbox[2] - d.bbox[0], 1e-6)
        pieces: list[tuple[np.ndarray, tuple[float, float, float, float], str | None]] = []
        cells = split_panels(rgb, len(d.named_panels)) if d.split and settings.split_panels else None
        if cells:
            lower = lowercase_panels(d.caption)
            for name, (x0, y0, x1, y1) in zip(d.named_panels, cells, strict=True):
                printed = name.lower() if lower else name
                pieces.append((rgb[y0:y1, x0:x1], sub_box(d.bbox, (x0, y0, x1, y1), scale), printed))
        else:
            pieces.append((rgb, d.bbox, d.panel))
        sentences = panel_sentences(d.caption) if cells else {}
        for arr, box, letter in pieces:
            panel_caption: str = sentences.get((letter or "").upper(), "") if cells else d.panel_caption
            score = ultrasound_score(arr, f"{d.caption} {panel_caption}")
            out.append(
                Figure(
                    figure_key=f"{prefix}-p{d.page}-{len(out)}",
                    doc=doc,
                    page=d.page,
                    bbox=(round(box[0], 2), round(box[1], 2), round(box[2], 2), round(box[3], 2)),
                    page_size=size,
                    image=store(work, jpeg.data, "jpg") if jpeg is not None and not cells else store_pixels(work, arr),
                    page_image=page_image,
                    figure_id=d.figure_id,
                    panel=letter,
                    caption=d.caption,
                    panel_caption=panel_caption,
                    in_image_text=d.in_image_text,
                    context=d.context,
                    section=d.section,
                    language=language,
                    is_ultrasound=score >= settings.ultrasound_threshold,
                    ultrasound_score=score,
                    source=_source(d.source),
                    width=int(arr.shape[1]),
                    height=int(arr.shape[0]),
                )
            )
    return out


def _one_image(d: Draft, rasters: list[BBox] | None) -> bool:
    return d.source == "embedded" and (rasters is None or any(_same_box(r, d.bbox) for r in rasters))


def _same_box(a: BBox, b: BBox) -> bool:
    return all(abs(x - y) <= _SAME_BOX for x, y in zip(a, b, strict=True))


def _source(s: str) -> FigureSource:
    return "vlm" if s == "vlm" else "detected" if s in ("detected", "layout", "layout-table") else "embedded"
