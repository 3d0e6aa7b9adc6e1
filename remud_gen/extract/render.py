"""Second pass: render each figure draft, split multi-panel rasters, score ultrasound, store crops, make records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pymupdf

from remud_gen.extract.assign import Draft
from remud_gen.extract.captions import lowercase_panels, panel_sentences
from remud_gen.extract.crops import png_bytes, render, store, store_pixels, sub_box, to_array
from remud_gen.extract.panels import split_panels
from remud_gen.extract.settings import ExtractSettings
from remud_gen.extract.ultrasound import ultrasound_score
from remud_gen.records import Figure, FigureSource, Language


def render_page_figures(
    page: pymupdf.Page,
    drafts: list[Draft],
    *,
    work: Path,
    doc: str,
    prefix: str,
    language: Language,
    settings: ExtractSettings,
) -> list[Figure]:
    """Figure records for one page's drafts (crops written under WORK/extract/images)."""
    size = (float(page.rect.width), float(page.rect.height))
    page_image = None
    if settings.keep_page_images and drafts:
        pix = render(page, None, settings.dpi, settings.max_render_pixels)
        page_image = store(work, png_bytes(to_array(pix)))
        del pix
    out: list[Figure] = []
    for d in drafts:
        pix = render(page, d.bbox, settings.dpi, settings.max_render_pixels)
        scale = pix.width / max(d.bbox[2] - d.bbox[0], 1e-6)
        rgb = to_array(pix)
        del pix
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
                    image=store_pixels(work, arr),
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


def _source(s: str) -> FigureSource:
    return "detected" if s == "detected" else "vlm" if s == "vlm" else "embedded"
