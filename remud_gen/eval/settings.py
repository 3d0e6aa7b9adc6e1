"""Settings of the eval command (the `eval:` section of the config)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class BudgetForcingSettings(BaseModel):
    """ReMUD's budget forcing: a short thinking trace is continued after a "Wait" until it is long enough."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        default=False, description="needs an endpoint that continues an assistant message (vLLM, SGLang)"
    )
    min_tokens: int = Field(default=96, ge=1, description="a trace shorter than this (estimated tokens) is continued")
    max_waits: int = Field(default=3, ge=1, le=16, description="continuations per sample at most")
    words_file: str = Field(
        default="eval_forcing.yaml", description="prompt-folder file with the wait word per language"
    )


class EvalSettings(BaseModel):
    """How a model is asked the test questions and how its answers are scored."""

    model_config = ConfigDict(extra="forbid")

    k: int = Field(default=4, ge=1, le=64, description="samples per question; pass@1 is the mean share right")
    temperature: float = Field(default=0.6, ge=0, le=2, description="sampling temperature (ReMUD: 0.6)")
    top_p: float = Field(default=0.7, gt=0, le=1, description="nucleus sampling mass (ReMUD: 0.7)")
    max_tokens: int = Field(default=2048, ge=16, description="completion token cap per sample")
    seed: int = Field(default=0, description="sample i of a question is sent with seed + i")
    letters: str = Field(
        default="ABCDE",
        pattern=r"^[A-Z]{2,26}$",
        description="option letters a key may be; other keys are reported",
    )
    system_prompt: Literal["item", "instruction", "item+instruction"] = Field(
        default="item+instruction",
        description="system turn sent: the item's own, the system prompt of its kind (prompts/system_prompts.yaml, "
        "as training records carry it), or both (once when they are the same); an item without one gets its kind's",
    )
    prompts_dir: Path | None = Field(
        default=None, description="folder of prompt files, e.g. one `remud-gen init` wrote (None: the packaged)"
    )
    bootstrap: int = Field(default=1000, ge=100, le=100000, description="bootstrap resamples of the questions")
    confidence: float = Field(default=0.95, gt=0.5, lt=1, description="coverage of the bootstrap interval")
    bootstrap_seed: int = Field(default=0, description="seed of the bootstrap resampling")
    budget_forcing: BudgetForcingSettings = Field(
        default_factory=BudgetForcingSettings, description="ReMUD's budget forcing (off by default)"
    )
