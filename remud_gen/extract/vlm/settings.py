"""Settings of the VLM figure detector (`extract.detector: vlm`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class VlmSettings(BaseModel):
    """How boxes are asked for, read back and cross-checked; the endpoint itself is the `endpoint` section."""

    model_config = ConfigDict(extra="forbid")

    box_format: Literal["auto", "qwen", "norm1000", "norm1"] = Field(
        "auto",
        description="coordinates the model answers in: qwen = pixels of its smart-resized input (Qwen2.5-VL), "
        "norm1000 = 0-1000, norm1 = 0-1; auto = qwen for Qwen2.5-VL model names, else norm1000",
    )
    min_pixels: int = Field(
        56 * 56, ge=28 * 28, description="the model processor's min_pixels (qwen format: its smart-resize bound)"
    )
    max_pixels: int = Field(
        28 * 28 * 16384,
        ge=28 * 28,
        description="the model processor's max_pixels (qwen format; Qwen2.5-VL ships 12845056)",
    )
    match_iou: float = Field(
        0.5, gt=0, le=1, description="a VLM box and an analysis box at this IoU are one figure (analysis edges kept)"
    )
    keep_analysis_only: bool = Field(True, description="keep analysis boxes the VLM did not report (source detected)")
    max_text_cover: float = Field(
        0.5, gt=0, le=1, description="a VLM-only box this much covered by OCR text lines is a text block, dropped"
    )
    max_tokens: int = Field(1024, ge=64, description="completion token cap of one page's box answer")
