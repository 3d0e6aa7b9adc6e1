"""Settings of the synthesize stage."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ThinkingSource = Literal["reasoning_content", "think_tag", "schema"]
_THINKING_ORDER: tuple[ThinkingSource, ...] = ("reasoning_content", "think_tag", "schema")


class SynthesizeSettings(BaseModel):
    """What to generate, from which units, in which language."""

    model_config = ConfigDict(extra="forbid")

    tasks: list[str] = Field(
        default_factory=lambda: ["qa", "qa-reasoning", "vqa", "vqa-reasoning"],
        description="task kinds to generate; each is a prompt pair + schema in prompts/",
    )
    language: Literal["auto", "zh", "en", "both"] = Field(
        "auto", description="item language: auto follows the source; both adds a translation of every item"
    )
    items_per_unit: int = Field(1, ge=1, le=20, description="items asked of each chunk or panel per kind")
    turns: int = Field(3, ge=1, le=8, description="question-answer turns in a dialogue kind")
    mix: dict[str, float] = Field(
        default_factory=dict, description="share of max_items per kind, e.g. ReMUD's qa 0.27 ... (empty: no mix)"
    )
    max_items: int | None = Field(None, ge=1, description="cap on requests over all kinds (None: every unit)")
    max_per_kind: dict[str, int] = Field(default_factory=dict, description="cap on requests per kind")
    ultrasound_only: bool = Field(True, description="figure kinds use only figures marked is_ultrasound")
    attach_page_image: bool = Field(False, description="also attach the page render as a second image")
    outside_knowledge: bool = Field(False, description="allow marked knowledge from outside the source")
    min_chunk_chars: int = Field(120, ge=0, description="text chunks shorter than this are not used")
    max_source_chars: int = Field(4000, ge=200, description="source text sent per request is cut to this length")
    thinking_sources: list[ThinkingSource] = Field(
        default_factory=lambda: list(_THINKING_ORDER),
        description="where a reasoning trace is taken from, first found wins",
    )
    shuffle_options: bool = Field(True, description="shuffle MCQ options so answer letters are balanced")
    seed: int = Field(0, description="seed for option shuffling and unit selection")
    prompts_dir: Path | None = Field(
        None, description="folder of prompt files, e.g. one `remud-gen init` wrote (None: the packaged)"
    )
