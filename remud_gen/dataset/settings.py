"""Settings of the split command (the `split:` section of the config)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Stratum = Literal["kind", "region", "language"]


def _default_strata() -> list[Stratum]:
    return ["kind", "region"]


class SplitSettings(BaseModel):
    """How the test split is drawn and which training items count as leaks of it."""

    model_config = ConfigDict(extra="forbid")

    test_size: float = Field(
        default=0.1, gt=0, description="below 1: the fraction of MCQ items held out; 1 or more: their number"
    )
    seed: int = Field(default=0, description="decides which items of each stratum are drawn")
    stratify_by: list[Stratum] = Field(
        default_factory=_default_strata, description="record fields the draw keeps in proportion"
    )
    ngram: int = Field(
        default=12,
        ge=4,
        le=50,
        description="a training question sharing one n-gram with a test question is a leak (units: CJK "
        "characters and Latin words)",
    )
    minhash_threshold: float = Field(
        default=0.7,
        gt=0,
        le=1,
        description="a training question this similar (MinHash Jaccard) to a test one is a leak",
    )
    num_perm: int = Field(default=128, ge=16, le=1024, description="MinHash permutations")
    same_image: bool = Field(default=True, description="also drop training items that show an image of a test item")
