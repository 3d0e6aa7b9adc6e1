"""What the dataset is and how it was made: `stats.json` for programs and a dataset card `README.md` for people.

Both sit in WORK/dataset beside the shards: counts by kind, language, region and source document, why items were
rejected, judge score histograms, tokens and cost, the LLaMA-Factory options that load the shards, and the resolved
config that made them.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from remud_gen import __version__
from remud_gen.filter.judge_settings import DIMENSIONS
from remud_gen.filter.rules import reason_name
from remud_gen.filter.shards import ShardOutput
from remud_gen.io import atomic_open, write_json
from remud_gen.records import Usage, Verdict

_BREAKDOWNS = ("kind", "language", "region", "doc")
_SECRET = re.compile(r"(?i)(api[_-]?key|secret|password|authorization|bearer)")


class DatasetStats(BaseModel):
    """The content of stats.json."""

    model_config = ConfigDict(extra="forbid")

    name: str
    remud_gen_version: str = __version__
    samples: int = Field(description="samples the filter saw")
    accepted: int
    rejected: int
    records: int = Field(description="records in the shards (accepted minus any left out for a missing image)")
    accepted_by: dict[str, dict[str, int]] = Field(description="accepted counts by kind, language, region, doc")
    samples_by: dict[str, dict[str, int]] = Field(description="all counts by kind, language, region, doc")
    rejection_reasons: dict[str, int] = Field(description="rejected samples per reason name (some have several)")
    scores: dict[str, dict[str, int]] = Field(description="judge score histogram per dimension, 1-5")
    weighted_score: dict[str, int] = Field(description="histogram of the weighted judge score in steps of 0.5")
    usage: dict[str, Usage] = Field(description="tokens and cost of generation, judging and both")
    shards: list[str]
    dataset_names: list[str] = Field(description="LLaMA-Factory `dataset:` entry names")
    config: dict[str, Any] = Field(description="the resolved config, secrets redacted")


def _counts(values: Sequence[str]) -> dict[str, int]:
    # most frequent first, ties by name: stable across runs
    return dict(sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0])))


def _breakdown(verdicts: Sequence[Verdict]) -> dict[str, dict[str, int]]:
    pick = {
        "kind": lambda v: v.sample.kind,
        "language": lambda v: v.sample.language,
        "region": lambda v: v.sample.region,
        "doc": lambda v: v.sample.source.doc,
    }
    return {name: _counts([pick[name](v) for v in verdicts]) for name in _BREAKDOWNS}


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


def build_stats(
    verdicts: Sequence[Verdict],
    output: ShardOutput,
    *,
    name: str = "remud",
    judge_usage: Usage | None = None,
    config: Mapping[str, Any] | None = None,
) -> DatasetStats:
    """Summarise a filter run.

    Args:
        verdicts: every sample's verdict, accepted and rejected.
        output: what `write_shards` wrote.
        name: the dataset name (OutputSettings.name).
        judge_usage: tokens and cost of the judge calls (generation usage is read from the samples).
        config: the resolved configuration that produced the dataset.
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
    return DatasetStats(
        name=name,
        samples=len(verdicts),
        accepted=len(accepted),
        rejected=len(verdicts) - len(accepted),
        records=output.records,
        accepted_by=_breakdown(accepted),
        samples_by=_breakdown(verdicts),
        rejection_reasons=_counts([reason_name(r) for v in verdicts if not v.accepted for r in set(v.reasons)]),
        scores={d: {str(k): scores[d][str(k)] for k in range(1, 6)} for d in DIMENSIONS},
        weighted_score=dict(sorted(weighted.items())),
        usage={"generation": generation, "judge": judge, "total": generation + judge},
        shards=[p.name for p in output.shards],
        dataset_names=output.dataset_names,
        config=redact(dict(config or {})),
    )


def write_card(work: Path, stats: DatasetStats) -> tuple[Path, Path]:
    """Write WORK/dataset/stats.json and WORK/dataset/README.md; return both paths."""
    dataset = work / "dataset"
    stats_path, card_path = dataset / "stats.json", dataset / "README.md"
    write_json(stats_path, stats.model_dump(mode="json"))
    with atomic_open(card_path) as fh:
        fh.write(render_card(stats, dataset))
    return stats_path, card_path


_MARKDOWN = re.compile(r"([\\`*\[\]|])")  # what can start code, emphasis, a link or an image, or end a cell


def _text(value: Any) -> str:
    """``value`` as literal text in markdown: document names come from file names, which may hold HTML (a
    `<svg onload=...>` would run in a page that renders the card) or markdown that changes the layout."""
    return _MARKDOWN.sub(r"\\\1", html.escape(str(value), quote=False)).replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_text(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) if rows else "_none_"


def _size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if n < limit:
            return label
    return "100K<n<1M"


def render_card(stats: DatasetStats, dataset_dir: Path) -> str:
    """The dataset card text: Hugging Face front matter, then tables."""
    front = {
        "pretty_name": stats.name,
        "language": sorted(stats.accepted_by["language"]) or ["zh", "en"],
        "license": "other",
        "task_categories": ["visual-question-answering", "question-answering"],
        "tags": ["medical", "ultrasound", "synthetic", "reasoning"],
        "size_categories": [_size_category(stats.records)],
    }
    u = stats.usage
    parts = [
        "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---",
        f"# {_text(stats.name)}",
        f"Ultrasound QA/VQA items generated from textbooks and guidelines by remud-gen {stats.remud_gen_version}: "
        f"{stats.records} records in {len(stats.shards)} shard(s); {stats.accepted} of {stats.samples} generated "
        "items passed the filter. Every item was generated from one passage or one figure panel of the source "
        "documents listed below; their licences govern what you may do with it.",
        "## Load with LLaMA-Factory",
        f"```yaml\ndataset_dir: {dataset_dir.resolve()}\ndataset: {','.join(stats.dataset_names)}\n```",
    ]
    for title, key in (("kind", "kind"), ("language", "language"), ("region", "region"), ("source document", "doc")):
        rows = [(k, stats.accepted_by[key].get(k, 0), n) for k, n in stats.samples_by[key].items()]
        parts += [f"## Items by {title}", _table([title, "accepted", "generated"], rows)]
    parts += ["## Rejections", _table(["reason", "items"], list(stats.rejection_reasons.items()))]
    score_rows = [(d, *(h[str(k)] for k in range(1, 6))) for d, h in stats.scores.items() if sum(h.values())]
    parts += ["## Judge scores", _table(["dimension", "1", "2", "3", "4", "5"], score_rows)]
    parts += [_table(["weighted score", "items"], list(stats.weighted_score.items()))]
    usage_rows = [(k, x.prompt_tokens, x.completion_tokens, x.cached_tokens, f"{x.cost:.4f}") for k, x in u.items()]
    parts += ["## Tokens and cost", _table(["", "prompt", "completion", "cached", "cost"], usage_rows)]
    config = yaml.safe_dump(stats.config, allow_unicode=True, sort_keys=False) if stats.config else "{}\n"
    parts += ["## Configuration", f"```yaml\n{config}```"]
    return "\n\n".join(parts) + "\n"
