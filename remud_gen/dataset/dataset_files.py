"""Every file of WORK/dataset that is made of records, written together from one training and one test list.

    <name>-00000-of-000NN.json      the training records (ShareGPT), what LLaMA-Factory loads
    test.json                       the test records, only once `split` has made them
    <name>.openai.jsonl             --format openai: the training records as uploadable chat JSONL
    <name>-test.openai.jsonl        ... and the test records
    <name>-hf/                      --format hf: a `datasets` DatasetDict with a "train" (and a "test") split
    dataset_info.json               one entry per shard, plus "<name>-test"

filter writes them with no test list; split rewrites all of them from the same two lists, so no format can keep
an item that split moved to the test set. Every new file is complete in its temporary file before the first one
replaces anything.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from remud_gen.dataset import formats
from remud_gen.dataset.settings import OutputSettings
from remud_gen.io import atomic_open, read_json, write_json

TEST_FILE = "test.json"
IMAGES = "images"
_SHARD_TAGS = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt"}


@dataclass(frozen=True)
class RecordFiles:
    """What `write_record_files` wrote."""

    shards: list[Path]
    test: Path | None
    dataset_info: Path
    extra: dict[str, Path] = field(default_factory=dict)  # format (and "openai-test") -> file or folder
    retired_test: bool = False  # a test split of an earlier dataset was removed


def shard_pattern(name: str) -> re.Pattern[str]:
    """File names of the training shards of dataset ``name``."""
    return re.compile(rf"^{re.escape(name)}-\d{{5}}-of-\d{{5}}\.json$")


def openai_paths(dataset: Path, name: str) -> tuple[Path, Path]:
    """The training and test chat JSONL files of dataset ``name``."""
    return dataset / f"{name}.openai.jsonl", dataset / f"{name}-test.openai.jsonl"


def write_record_files(
    dataset: Path,
    settings: OutputSettings,
    train: Sequence[dict[str, Any]],
    test: Sequence[dict[str, Any]],
    *,
    keep_images: set[str] | None = None,
) -> RecordFiles:
    """Write the shards, test.json, every configured format and dataset_info.json; remove what they replace.

    Args:
        dataset: WORK/dataset (image paths in the records are relative to it).
        settings: name, shard size, indent, formats and the openai image options.
        train: the training records, in order.
        test: the test records (empty: no test split; an old one is removed).
        keep_images: file names under images/ still in use; others are removed (None: leave images/ alone).
    """
    had_test = (dataset / TEST_FILE).exists()
    size = settings.shard_size
    chunks = [train[i : i + size] for i in range(0, len(train), size)]
    shards = [dataset / f"{settings.name}-{i:05d}-of-{len(chunks):05d}.json" for i in range(len(chunks))]
    files: list[tuple[Path, Sequence[dict[str, Any]]]] = list(zip(shards, chunks, strict=True))
    if test:
        files.insert(0, (dataset / TEST_FILE, test))
    with contextlib.ExitStack() as stack:
        for path, chunk in files:
            fh = stack.enter_context(atomic_open(path))
            json.dump(list(chunk), fh, ensure_ascii=False, indent=settings.indent)
            fh.write("\n")
    entries = {p.stem: p.name for p in shards} | ({f"{settings.name}-test": TEST_FILE} if test else {})
    own = re.compile(rf"^{re.escape(settings.name)}-(\d{{5}}-of-\d{{5}}|test)$")
    info = write_dataset_info(dataset, own, entries)
    extra: dict[str, Path] = {}
    train_jsonl, test_jsonl = openai_paths(dataset, settings.name)
    if "openai" in settings.formats:
        images = formats.ImageUrls(dataset, settings.image_base_url)
        extra["openai"] = formats.write_openai(train, train_jsonl, images)
        if test:
            extra["openai-test"] = formats.write_openai(test, test_jsonl, images)
    if "hf" in settings.formats:
        splits = {"train": train, **({"test": test} if test else {})}
        extra["hf"] = formats.write_hf(splits, dataset, dataset / f"{settings.name}-hf")
    _remove_stale(dataset, settings, shards, keep_images, bool(test))
    return RecordFiles(shards, dataset / TEST_FILE if test else None, info, extra, had_test and not test)


def dataset_info_entry(shard: str) -> dict[str, Any]:
    """The LLaMA-Factory dataset_info.json entry of one shard file."""
    return {
        "file_name": shard,
        "formatting": "sharegpt",
        "columns": {"messages": "conversations", "images": "images"},
        "tags": {**_SHARD_TAGS, "system_tag": "system"},
    }


def write_dataset_info(dataset: Path, own: re.Pattern[str], entries: Mapping[str, str]) -> Path:
    """Replace our entries in `dataset_info.json` (those whose name `own` matches) with ``entries`` (name -> file).

    Entries someone else added (another dataset, a hand-written one) are kept; a broken file of ours is rewritten.
    """
    path = dataset / "dataset_info.json"
    try:
        old = read_json(path) if path.exists() else {}
    except (OSError, ValueError):
        old = {}
    info = {k: v for k, v in (old.items() if isinstance(old, dict) else []) if not own.match(k)}
    info.update({name: dataset_info_entry(file) for name, file in entries.items()})
    write_json(path, info)
    return path


def _remove_stale(
    dataset: Path, settings: OutputSettings, shards: list[Path], images: set[str] | None, has_test: bool
) -> None:
    keep = {p.name for p in shards}
    own = shard_pattern(settings.name)
    for path in dataset.iterdir():
        if path.is_file() and own.match(path.name) and path.name not in keep:
            path.unlink()
    train_jsonl, test_jsonl = openai_paths(dataset, settings.name)
    if not has_test:
        (dataset / TEST_FILE).unlink(missing_ok=True)
    if "openai" not in settings.formats:
        train_jsonl.unlink(missing_ok=True)
    if "openai" not in settings.formats or not has_test:
        test_jsonl.unlink(missing_ok=True)
    if "hf" not in settings.formats:
        shutil.rmtree(dataset / f"{settings.name}-hf", ignore_errors=True)
    if images is None or not (dataset / IMAGES).is_dir():
        return
    for path in (dataset / IMAGES).iterdir():
        if path.name in images:
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
