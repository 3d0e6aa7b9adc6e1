"""The dataset's account of itself: stats.json, the card README.md and report.html, rewritten with its records.

filter saves what only it knows (the `History` of its decisions, and the review page's data) in
WORK/filter/dataset.json; `describe` joins that with the records as they are now (the training shards and
test.json) and rewrites the three files together. filter calls it after writing the shards, split after cutting
the test set, so no description of the dataset is ever older than its records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from remud_gen.dataset.card import render_card
from remud_gen.dataset.dataset_files import IMAGES, TEST_FILE, openai_paths
from remud_gen.dataset.review import mark_split, report_data, write_report
from remud_gen.dataset.settings import OutputSettings
from remud_gen.dataset.shards import ShardOutput
from remud_gen.dataset.stats import DatasetStats, History, build_history, by_split, system_prompts
from remud_gen.io import atomic_open, read_json, read_records, write_json
from remud_gen.records import Document, Figure, Usage, Verdict

ACCOUNT_FILE = "dataset.json"


def publish(
    work: Path,
    verdicts: Sequence[Verdict],
    shards: ShardOutput,
    output: OutputSettings,
    *,
    figures: Mapping[str, Figure] | None = None,
    judge_usage: Usage | None = None,
    config: Mapping[str, Any] | None = None,
) -> DatasetStats:
    """Save filter's account in WORK/filter/dataset.json, then describe the freshly written (unsplit) dataset."""
    documents = work / "extract" / "documents.jsonl"
    licences = {d.doc: d.licence for d in read_records(documents, Document)} if documents.exists() else {}
    history = build_history(
        verdicts,
        name=output.name,
        judge_usage=judge_usage,
        config=config,
        models=_models(config or {}),
        licences=licences,
    )
    review = report_data(verdicts, figures=figures, images=shards.images, max_items=output.report_max_items)
    write_json(work / "filter" / ACCOUNT_FILE, {"history": history.model_dump(mode="json"), "review": review})
    train = [r for p in shards.shards for r in json.loads(p.read_text(encoding="utf-8"))]
    return describe(work, output, train, [])


def describe(work: Path, output: OutputSettings, train: Sequence[Any], test: Sequence[Any]) -> DatasetStats:
    """Write WORK/dataset/stats.json, README.md and report.html for these training and test records.

    Without filter's account (a dataset written some other way) the history is empty and report.html is left
    as it is.
    """
    dataset = work / "dataset"
    history, review = _load(work / "filter" / ACCOUNT_FILE, output.name)
    shards = sorted(p.name for p in dataset.glob(f"{output.name}-*-of-*.json"))
    stats = DatasetStats(
        **history.model_dump(),
        records=len(train),
        test_records=len(test),
        splits={"train": by_split(train), **({"test": by_split(test)} if test else {})},
        shards=shards,
        test_file=TEST_FILE if test else None,
        dataset_names=[Path(s).stem for s in shards],
        system_prompts=system_prompts([*train, *test]),
        files=_files(dataset, output, bool(review)),
    )
    write_json(dataset / "stats.json", stats.model_dump(mode="json"))
    with atomic_open(dataset / "README.md") as fh:
        fh.write(render_card(stats))
    if review:
        ids = _ids(train), _ids(test)
        write_report(dataset / "report.html", mark_split(review, *ids), title=f"{output.name} review")
    return stats


def _load(path: Path, name: str) -> tuple[History, dict[str, Any]]:
    try:
        saved = read_json(path)
        return History.model_validate(saved["history"]), dict(saved.get("review") or {})
    except (OSError, ValueError, KeyError, TypeError):
        return History(name=name), {}


def _ids(records: Iterable[Any]) -> set[str]:
    return {str(r["id"]) for r in records if isinstance(r, dict) and "id" in r}


def _models(config: Mapping[str, Any]) -> dict[str, str]:
    synth = config.get("synthesize", {})
    judge = config.get("filter", {}).get("judge_model") if isinstance(config.get("filter"), dict) else None
    model = synth.get("endpoint", {}).get("model") if isinstance(synth, dict) else None
    return {k: str(v) for k, v in (("generation", model), ("judge", judge)) if v}


def _files(dataset: Path, output: OutputSettings, report: bool) -> dict[str, str]:
    name = output.name
    train_jsonl, test_jsonl = openai_paths(dataset, name)
    described = {
        f"{name}-NNNNN-of-NNNNN.json": "training records, ShareGPT JSON arrays (LLaMA-Factory)",
        TEST_FILE: "held-out multiple-choice test records, same layout (`remud-gen eval --data test.json`)",
        train_jsonl.name: "training records as OpenAI fine-tuning chat JSONL (uploadable: images inline or hosted)",
        test_jsonl.name: "test records as OpenAI chat JSONL",
        f"{name}-hf/": 'Hugging Face `datasets` DatasetDict ("train", "test"), images embedded',
        f"{IMAGES}/": "every image the records and report.html show",
        "dataset_info.json": "LLaMA-Factory's registry of the shards and the test file",
        "stats.json": "the numbers of this card, for programs",
        "report.html": "a review page of kept and rejected items (open it in a browser; no network needed)",
    }
    present = {
        f"{name}-NNNNN-of-NNNNN.json": any(dataset.glob(f"{name}-*-of-*.json")),
        TEST_FILE: (dataset / TEST_FILE).exists(),
        train_jsonl.name: train_jsonl.exists(),
        test_jsonl.name: test_jsonl.exists(),
        f"{name}-hf/": (dataset / f"{name}-hf").is_dir(),
        f"{IMAGES}/": (dataset / IMAGES).is_dir(),
        "dataset_info.json": True,
        "stats.json": True,
        "report.html": report or (dataset / "report.html").exists(),
    }
    return {k: v for k, v in described.items() if present[k]}
