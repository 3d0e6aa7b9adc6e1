"""Settings of the judge: which model, how scores combine, where an item is cut."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DIMENSIONS = ("faithfulness", "image_text_consistency", "medical_correctness", "reasoning_validity", "clarity")


class JudgeSettings(BaseModel):
    """A model call per item that scores it against its own source and image."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="call the judge model (off: rule checks and dedup only)")
    model: str | None = Field(None, description="judge model (None: endpoint.model)")
    base_url: list[str] | None = Field(None, description="judge endpoint URL(s) (None: endpoint.base_url)")
    temperature: float = Field(0.0, ge=0, le=2, description="judge sampling temperature")
    max_tokens: int = Field(512, ge=32, description="completion token cap of a judge call")
    weights: dict[str, float] = Field(
        default_factory=lambda: {
            "faithfulness": 0.3,
            "image_text_consistency": 0.15,
            "medical_correctness": 0.3,
            "reasoning_validity": 0.15,
            "clarity": 0.1,
        },
        description="weight of each score in the weighted score (dimensions not applicable are left out)",
    )
    threshold: float = Field(3.5, ge=1, le=5, description="weighted score an item needs to be kept")
    floors: dict[str, int] = Field(
        default_factory=lambda: {"faithfulness": 3, "medical_correctness": 3},
        description="an item with any of these scores below its floor is dropped",
    )
    blind_mcq: bool = Field(True, description="let the judge answer each MCQ blind")
    blind_mismatch: Literal["flag", "drop"] = Field(
        "drop", description="an MCQ whose key the blind judge cannot reproduce: keep it flagged, or drop it"
    )
