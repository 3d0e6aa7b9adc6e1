"""The dataset card `README.md`: what a user of WORK/dataset needs to load, train on and trust it.

Files and fields, the conventions of the records (`<image>`, `<think>`, `<answer>`), the system prompts, counts by
kind, language, region and split, the lines LLaMA-Factory needs (including `media_dir` when the shards are
registered from another folder), how the items were made (models, thresholds, versions, config) and the source
documents. Paths are relative: the folder can be moved, zipped and shipped.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from typing import Any

import yaml

from remud_gen.dataset.dataset_files import dataset_info_entry
from remud_gen.dataset.stats import DatasetStats

PLACEHOLDER = "path/to/dataset"  # where the user put this folder; the card never names this machine's paths
_FIELDS = [
    ("conversations", "the dialogue: a list of {from, value}; from is system, human or gpt, in that order, "
     "human and gpt alternating and ending with gpt"),
    ("images", 'image paths relative to this folder ("images/<name>"), one per <image> token, in order'),
    ("id", "the item's id (stable across runs; the same id in every format)"),
    ("kind", "qa, qa-reasoning, vqa, vqa-reasoning, vqa-reasoning-open or vqa-compare"),
    ("language", "zh or en"),
    ("region", "the body region the item is about (liver, thyroid, ... other)"),
]  # fmt: skip
_CONVENTIONS = [
    "`<image>` stands where an image is shown, once per entry of `images` and in the same order "
    "(LLaMA-Factory checks the counts match); items over several panels of one figure (vqa-compare) have one "
    "token per panel.",
    "Reasoning kinds (`*-reasoning*`, `vqa-compare`) answer `<think>`, a newline, the reasoning, a newline, "
    "`</think>`, a blank line, then the answer: the layout LLaMA-Factory's reasoning templates split on.",
    "Multiple-choice items list their options as `A. ...` lines in the question and answer `<answer>X</answer>` "
    "with one letter, the form ReMUD's evaluation and `remud-gen eval` read.",
    "Every item was generated from one passage or one figure of the source documents; `evidence` quotes were "
    "checked against that source before the item was kept.",
]


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


def _code(lang: str, text: str) -> str:
    return f"```{lang}\n{text.rstrip()}\n```"


def _llamafactory(stats: DatasetStats) -> list[str]:
    """The lines that load the shards, both from this folder and registered from another one."""
    names = ",".join(stats.dataset_names)
    entries = {n: dataset_info_entry(f"{PLACEHOLDER}/{n}.json") for n in stats.dataset_names}
    if stats.test_file:
        entries[f"{stats.name}-test"] = dataset_info_entry(f"{PLACEHOLDER}/{stats.test_file}")
    return [
        "## Load with LLaMA-Factory",
        f"Replace `{PLACEHOLDER}` with where this folder is. This folder has its own `dataset_info.json`, so the "
        "shortest way is to point LLaMA-Factory at it:",
        _code("yaml", f"dataset_dir: {PLACEHOLDER}\ndataset: {names}"),
        "To register the shards in the `dataset_info.json` of another folder (your `dataset_dir`), paste these "
        "entries into it:",
        _code("json", json.dumps(entries, ensure_ascii=False, indent=2)),
        "and set `media_dir` to this folder: image paths are relative to it, and LLaMA-Factory looks for them in "
        '`media_dir`, which defaults to `dataset_dir` (without it: "Media ... does not exist").',
        _code("yaml", f"dataset_dir: path/to/your/data\nmedia_dir: {PLACEHOLDER}\ndataset: {names}"),
    ]


def _split_table(stats: DatasetStats, key: str) -> str:
    train, test = stats.splits.get("train", {}).get(key, {}), stats.splits.get("test", {}).get(key, {})
    rows = [(k, train.get(k, 0), test.get(k, 0)) for k in sorted(set(train) | set(test))]
    return _table([key, "train", "test"], rows)


def _config(config: dict[str, Any]) -> str:
    # the manifest keeps each stage's settings under the stage's own name: `extract: {extract: {...}}` reads badly
    flat = {
        stage: {**value.get(stage, {}), **{k: v for k, v in value.items() if k != stage}}
        if isinstance(value, dict) and isinstance(value.get(stage), dict)
        else value
        for stage, value in config.items()
    }
    return yaml.safe_dump(flat, allow_unicode=True, sort_keys=False) if flat else "{}\n"


def _made_with(stats: DatasetStats) -> list[tuple[str, Any]]:
    """Models, versions and the thresholds that decided what was kept (the full config follows below)."""
    filt = stats.config.get("filter", {})
    settings = filt.get("filter", {}) if isinstance(filt, dict) else {}
    judge = settings.get("judge", {}) if isinstance(settings, dict) else {}
    rows: list[tuple[str, Any]] = [("remud-gen", stats.remud_gen_version)]
    rows += [(f"{role} model", model) for role, model in stats.models.items()]
    if isinstance(judge, dict) and judge:
        rows.append(("judge", f"threshold {judge.get('threshold')}" if judge.get("enabled", True) else "off"))
    grounding = settings.get("grounding", {}) if isinstance(settings, dict) else {}
    if isinstance(grounding, dict) and grounding.get("enabled"):
        rows.append(("evidence grounding", f"quotes found >= {grounding.get('min_quotes_found')}"))
    return rows


def render_card(stats: DatasetStats) -> str:
    """The dataset card text: Hugging Face front matter, then what a user needs, then how it was made."""
    front = {
        "pretty_name": stats.name,
        "language": sorted(stats.splits.get("train", {}).get("language", {})) or ["zh", "en"],
        "license": "other",
        "task_categories": ["visual-question-answering", "question-answering"],
        "tags": ["medical", "ultrasound", "synthetic", "reasoning"],
        "size_categories": [_size_category(stats.records + stats.test_records)],
    }
    test = f" and {stats.test_records} test records in `{stats.test_file}`" if stats.test_file else ""
    parts = [
        "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---",
        f"# {_text(stats.name)}",
        f"Ultrasound QA/VQA items generated from textbooks and guidelines by remud-gen {stats.remud_gen_version}: "
        f"{stats.records} training records in {len(stats.shards)} shard(s){test}; {stats.accepted} of "
        f"{stats.samples} generated items passed the filter. The licences of the source documents listed below "
        "govern what you may do with the items.",
        "## Files",
        _table(["file", "what it holds"], list(stats.files.items())),
        "## Fields",
        "Each record of the shards and of `test.json` (ShareGPT, as LLaMA-Factory reads it):",
        _table(["field", "meaning"], _FIELDS),
        "## Conventions",
        "\n".join(f"- {c}" for c in _CONVENTIONS),
        "## System prompts",
        "The system turn of each record, by kind; `remud-gen eval` asks test items under the same prompt.",
    ]
    rows = [(kind, lang, text) for kind, by_lang in stats.system_prompts.items() for lang, text in by_lang.items()]
    parts += [_table(["kind", "language", "system prompt"], rows)]
    parts += _llamafactory(stats)
    sources = [
        (doc, stats.accepted_by.get("doc", {}).get(doc, 0), licence or "none found: check the source's terms")
        for doc, licence in stats.licences.items()
    ]
    parts += ["## Source documents and their licences", "As extract found the statements in the documents' text.",
              _table(["document", "accepted by filter", "licence statement"], sources)]  # fmt: skip
    for key in ("kind", "language", "region"):
        parts += [f"## Records by {key}", _split_table(stats, key)]
    parts += ["## How it was made", _table(["what", "value"], _made_with(stats))]
    for title, key in (("kind", "kind"), ("source document", "doc")):
        counts = [(k, stats.accepted_by.get(key, {}).get(k, 0), n) for k, n in stats.samples_by.get(key, {}).items()]
        parts += [f"### Filter results by {title}", _table([title, "accepted", "generated"], counts)]
    parts += ["### Rejections", _table(["reason", "items"], list(stats.rejection_reasons.items()))]
    score_rows = [(d, *(h.get(str(k), 0) for k in range(1, 6))) for d, h in stats.scores.items() if sum(h.values())]
    parts += ["### Judge scores", _table(["dimension", "1", "2", "3", "4", "5"], score_rows)]
    parts += [_table(["weighted score", "items"], list(stats.weighted_score.items()))]
    usage = [
        (k, x.prompt_tokens, x.completion_tokens, x.cached_tokens, f"{x.cost:.4f}") for k, x in stats.usage.items()
    ]
    parts += ["### Tokens and cost", _table(["", "prompt", "completion", "cached", "cost"], usage)]
    parts += ["### Configuration", _code("yaml", _config(stats.config))]
    return "\n\n".join(parts) + "\n"
