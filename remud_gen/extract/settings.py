"""Settings of the extract stage: how pages are rendered, what counts as a figure, how text is chunked."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from remud_gen.extract.executor_settings import RaySettings
from remud_gen.extract.vlm.settings import VlmSettings


class ExtractSettings(BaseModel):
    """Everything `process_file` needs to know; picklable, so it can be handed to worker processes."""

    model_config = ConfigDict(extra="forbid")

    dpi: int = Field(200, ge=36, le=600, description="render resolution of figure crops and scanned pages")
    min_figure_px: int = Field(
        64, ge=8, description="an image or drawing smaller than this many pixels (at dpi) on either side is an icon"
    )
    min_figure_area: float = Field(
        0.006, ge=0, le=1, description="a figure must cover at least this fraction of the page area"
    )
    chunk_chars: int = Field(1200, ge=200, description="target length of a text chunk in characters")
    chunk_overlap: int = Field(150, ge=0, description="characters repeated at the start of the next chunk")
    drop_apparatus: bool = Field(
        True,
        description="leave references, acknowledgements, licences, contents pages and bare number tables out of chunks",
    )
    ocr: Literal["auto", "on", "off"] = Field(
        "auto", description="OCR scanned pages: auto = pages without a usable text layer; on = every page; off = never"
    )
    detector: Literal["analysis", "vlm"] = Field(
        "analysis",
        description="figure detector on scanned pages: image analysis, or the vision endpoint cross-checked with it",
    )
    vlm: VlmSettings = Field(default_factory=VlmSettings, description="the vision-endpoint detector (detector: vlm)")
    images: Literal["auto", "page", "figure"] = Field(
        "auto",
        description="image inputs: auto = a page image (portrait, paper, lines of text) is analysed as a scanned "
        "page and numbered pages of one folder are one book, any other image is one figure; page or figure forces it",
    )
    ultrasound_threshold: float = Field(
        0.5, ge=0, le=1, description="ultrasound_score at or above which a figure is marked is_ultrasound"
    )
    repeated_image_pages: int = Field(
        3, ge=2, description="an image drawn on at least this many pages is a logo or header and is dropped"
    )
    repeated_image_fraction: float = Field(
        0.5, gt=0, le=1, description="... or on at least this fraction of the pages (documents of 2+ pages)"
    )
    background_fraction: float = Field(
        0.85, gt=0, le=1, description="an image covering this much of a born-digital page is a page background"
    )
    split_panels: bool = Field(
        True, description="split one raster into panels when its caption names panels and it shows a grid"
    )
    keep_page_images: bool = Field(False, description="also save a render of every page that has figures")
    keep_jpegs: bool = Field(
        True,
        description="a JPEG figure the page shows untouched (nothing over it, no clip, no colour change) is stored "
        "as its own bytes, at full resolution, instead of rendered; false = render every crop",
    )
    password: str | None = Field(None, description="password of encrypted PDFs (or pass --password)")
    max_image_pixels: int = Field(
        200_000_000, ge=1_000_000, description="refuse image files larger than this (decompression-bomb guard)"
    )
    max_render_pixels: int = Field(
        60_000_000, ge=1_000_000, description="a crop or page render larger than this is rendered at a lower dpi"
    )
    language: Literal["auto", "zh", "en"] = Field(
        "auto", description="document language; auto = detected from the share of CJK characters"
    )
    sidecar_names: list[str] = Field(
        default_factory=lambda: ["captions.csv", "captions.json", "labels.csv", "labels.json"],
        description="files beside image inputs that map file name -> caption, label",
    )
    # Where documents run changes nothing in what is extracted: excluded from dumps, so from the cache key too.
    executor: Literal["local", "ray"] = Field(
        "local",
        exclude=True,
        description="where documents are extracted: local = worker processes on this machine; ray = one Ray task per "
        "document on a Ray cluster (pip install 'remud-gen[ray]'; or pass --ray)",
    )
    ray: RaySettings = Field(default_factory=RaySettings, exclude=True, description="the Ray executor")
