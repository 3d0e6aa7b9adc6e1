"""Settings of the filter stage: one section each for rules, duplicates, the judge and the dataset output."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from remud_gen.dataset.settings import OutputSettings
from remud_gen.filter.dedup import DedupSettings
from remud_gen.filter.judge_settings import JudgeSettings
from remud_gen.filter.rules import FilterRulesSettings


class GroundingSettings(BaseModel):
    """How strictly an item's quoted evidence must match its source."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="reject items whose evidence is not found in their source")
    min_quote_match: float = Field(0.8, ge=0, le=1, description="share of a quote's character 3-grams in the source")
    min_quotes_found: float = Field(0.5, ge=0, le=1, description="share of an item's quotes that must match")


class FilterSettings(BaseModel):
    """Rule checks, grounding, duplicates, the judge, and what the dataset folder holds."""

    model_config = ConfigDict(extra="forbid")

    rules: FilterRulesSettings = Field(default_factory=FilterRulesSettings, description="rule checks")
    grounding: GroundingSettings = Field(default_factory=GroundingSettings, description="evidence checks")
    dedup: DedupSettings = Field(default_factory=DedupSettings, description="duplicate removal")
    judge: JudgeSettings = Field(default_factory=JudgeSettings, description="the judge model")
    output: OutputSettings = Field(default_factory=OutputSettings, description="the dataset folder")
    prompts_dir: Path | None = Field(
        None, description="folder of the judge and system prompts, e.g. one `remud-gen init` wrote (None: the packaged)"
    )
