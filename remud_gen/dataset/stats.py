"""stats.json: what the filter decided (its history) joined with what the dataset holds now (its records).

The history (samples seen, rejections, judge scores, tokens, config) is known only to filter; the counts by split,
the shard names and the system prompts are read from the records, so filter and split describe the dataset the
same way and a split can never leave stats.json describing the dataset before it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from remud_gen import __version__
from remud_gen.filter.judge_settings import DIMENSIONS
from remud_gen.filter.rules import reason_name
from remud_gen.records import Usage, Verdict

BREAKDOWNS = ("kind", "language", "region", "doc")
SPLIT_BREAKDOWNS = ("kind", "language", "region")
_SECRET = re.compile(r"(?i)(api[_-]?key|secret|password|authorization|bearer)")


class History(BaseModel):
    """What filter decided, kept in WORK/filter/dataset.json for split to describe the dataset again."""

    model_config = ConfigDict(extra="forbid")

    name: str
    remud_gen_version: str = __version__
    samples: int = Field(0, description="samples the filter saw")
    accepted: int = 0
    rejected: int = 0
    accepted_by: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="accepted counts by kind, language, region, doc"
    )
    samples_by: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="all counts by kind, language, region, doc"
    )
    rejection_reasons: dict[str, int] = Field(
        default_factory=dict, description="rejected samples per reason name (some have several)"
    )
    scores: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="judge score histogram per dimension, 1-5"
    )
    weighted_score: dict[str, int] = Field(
        default_factory=dict, description="histogram of the weighted judge score in steps of 0.5"
    )
    usage: dict[str, Usage] = Field(default_factory=dict, description="tokens and cost of generation, judging, both")
    models: dict[str, str] = Field(default_factory=dict, description="model per role: generation, judge")
    licences: dict[str, str | None] = Field(
        default_factory=dict, description="source document -> the licence statement extract found in it (None: none)"
    )
    config: dict[str, Any] = Field(default_factory=dict, description="the resolved config per stage, secrets redacted")


class DatasetStats(History):
    """The content of stats.json: the history plus what the dataset folder holds now."""

    records: int = Field(description="training records (in the shards)")
    test_records: int = Field(0, description="records in test.json (0 before `remud-gen split`)")
    splits: dict[str, dict[str, dict[str, int]]] = Field(
        description="records per split (train, test) by kind, language, region"
    )
    shards: list[str]
    test_file: str | None = None
    dataset_names: list[str] = Field(description="LLaMA-Factory `dataset:` entry names of the training shards")
    system_prompts: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="the system turn of the records, by kind and language"
    )
    files: dict[str, str] = Field(default_factory=dict, description="file or folder in the dataset -> what it holds")


def counts(values: Sequence[str]) -> dict[str, int]:
    """How often each value occurs, most frequent first, ties by name (stable across runs)."""
    return dict(sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0])))


def _breakdown(verdicts: Sequence[Verdict]) -> dict[str, dict[str, int]]:
    pick = {
        "kind": lambda v: v.sample.kind,
        "language": lambda v: v.sample.language,
        "region": lambda v: v.sample.region,
        "doc": lambda v: v.sample.source.doc,
    }
    return {name: counts([pick[name](v) for v in verdicts]) for name in BREAKDOWNS}


def _bucket(score: float) -> str:
    low = min(max(int(score * 2) / 2, 1.0), 4.5)
    return f"{low:.1f}-{low + 0.5:.1f}"


def redact(config: Any) -> Any:
    """A copy of ``config`` with the values of secret-looking keys replaced (the config should hold none)."""
    if isinstance(config, Mapping):
        return {k: "***" if _SECRET.search(str(k)) and v else redact(v) for k, v in config.items()}
    if isinstance(config, list | tuple):
        return [redact(v) for v in config]
    return config


def build_history(
    verdicts: Sequence[Verdict],
    *,
    name: str = "remud",
    judge_usage: Usage | None = None,
    config: Mapping[str, Any] | None = None,
    models: Mapping[str, str] | None = None,
    licences: Mapping[str, str | None] | None = None,
) -> History:
    """Summarise a filter run.

    Args:
        verdicts: every sample's verdict, accepted and rejected.
        name: the dataset name (OutputSettings.name).
        judge_usage: tokens and cost of the judge calls (generation usage is read from the samples).
        config: the resolved configuration per stage that produced the dataset.
        models: the model of each role (generation, judge).
        licences: each source document's licence statement as extract recorded it.
    """
    accepted = [v for v in verdicts if v.accepted]
    generation = sum((v.sample.usage for v in verdicts), Usage())
    judge = judge_usage or Usage()
    scores: dict[str, Counter[str]] = {d: Counter() for d in DIMENSIONS}
    for v in verdicts:
        for dim in DIMENSIONS:
            value = getattr(v.scores, dim, None) if v.scores else None
            if value is not None:
                scores[dim][str(value)] += 1
    weighted = Counter(_bucket(v.weighted_score) for v in verdicts if v.weighted_score is not None)
    return History(
        name=name,
        samples=len(verdicts),
        accepted=len(accepted),
        rejected=len(verdicts) - len(accepted),
        accepted_by=_breakdown(accepted),
        samples_by=_breakdown(verdicts),
        rejection_reasons=counts([reason_name(r) for v in verdicts if not v.accepted for r in set(v.reasons)]),
        scores={d: {str(k): scores[d][str(k)] for k in range(1, 6)} for d in DIMENSIONS},
        weighted_score=dict(sorted(weighted.items())),
        usage={"generation": generation, "judge": judge, "total": generation + judge},
        models=dict(models or {}),
        licences={doc: (licences or {}).get(doc) for doc in sorted({v.sample.source.doc for v in verdicts})},
        config=redact(dict(config or {})),
    )


def by_split(records: Sequence[Any]) -> dict[str, dict[str, int]]:
    """Counts of ``records`` by kind, language and region ("?" when a record has no metadata)."""
    rows = [r if isinstance(r, dict) else {} for r in records]
    return {key: counts([str(r.get(key, "?")) for r in rows]) for key in SPLIT_BREAKDOWNS}


def system_prompts(records: Sequence[Any]) -> dict[str, dict[str, str]]:
    """The system turn the records carry, by kind and language (the first one seen of each)."""
    found: dict[str, dict[str, str]] = {}
    for r in records:
        turns = r.get("conversations") if isinstance(r, dict) else None
        if turns and isinstance(turns[0], dict) and turns[0].get("from") == "system":
            kind, lang = str(r.get("kind", "?")), str(r.get("language", "?"))
            found.setdefault(kind, {}).setdefault(lang, str(turns[0].get("value", "")))
    return {k: dict(sorted(v.items())) for k, v in sorted(found.items())}
