"""Settings of the dataset folder (`filter.output`) and of the split command (the `split:` section)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from remud_gen.dataset.system_prompts import TABLE

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


class OutputSettings(BaseModel):
    """What the dataset folder holds and how it is cut."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        default="remud",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="dataset name: shard file prefix and card title",
    )
    shard_size: int = Field(default=10000, ge=1, description="records per JSON shard")
    formats: list[Literal["openai", "hf"]] = Field(
        default_factory=list, description="extra formats beside the ShareGPT shards: openai (chat JSONL), hf"
    )
    image_base_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="openai format: image URLs are this prefix + images/<name> (None: images inline as data URLs)",
    )
    system_prompts: str = Field(
        default=TABLE,
        description="file in the prompt folder naming the system prompt of each item kind, shared with eval "
        "(empty: no system turn)",
    )
    metadata: bool = Field(default=True, description='also write "id", "kind", "language", "region" in each record')
    report_max_items: int | None = Field(
        default=20000, ge=1, description="items shown in report.html, a fixed sample when there are more (None: all)"
    )
    indent: int | None = Field(
        default=2, ge=0, le=8, description="JSON indent of the shards (None: one line per shard)"
    )
