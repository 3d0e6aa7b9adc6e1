"""The dataset folder as split leaves it: training shards, test.json beside them, and their dataset_info
entries.

WORK/dataset/<name>-00000-of-000NN.json   the training records (same names and layout as filter writes)
WORK/dataset/test.json                    the test records; their "images/..." paths resolve from here too
WORK/dataset/dataset_info.json            one entry per shard plus "<name>-test"; other entries are kept
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

from remud_gen.errors import InputError
from remud_gen.filter.shards import OutputSettings, write_dataset_info
from remud_gen.io import atomic_open, read_json

TEST_FILE = "test.json"


def shard_paths(dataset: Path, name: str) -> list[Path]:
    """The training shards of dataset ``name``, in order."""
    own = re.compile(rf"^{re.escape(name)}-\d{{5}}-of-\d{{5}}\.json$")
    return sorted(p for p in dataset.glob(f"{name}-*.json") if own.match(p.name)) if dataset.is_dir() else []


def read_shards(paths: list[Path]) -> list[Any]:
    """Every record of the shards, in order.

    Raises:
        InputError: a shard is unreadable or not a JSON array.
    """
    records: list[Any] = []
    for path in paths:
        try:
            data = read_json(path)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read shard {path}: {exc}; re-run `remud-gen filter` to rewrite it") from exc
        if not isinstance(data, list):
            raise InputError(f"shard {path} is not a JSON array of records")
        records.extend(data)
    return records


def write_split(dataset: Path, output: OutputSettings, train: list[Any], test: list[Any]) -> list[Path]:
    """Write test.json and the training shards, then dataset_info.json, then remove stale shards.

    Every new file is complete in its temporary file before the first one replaces anything.

    Returns:
        The training shard paths.
    """
    size = output.shard_size
    chunks = [train[i : i + size] for i in range(0, len(train), size)]
    shards = [dataset / f"{output.name}-{i:05d}-of-{len(chunks):05d}.json" for i in range(len(chunks))]
    with contextlib.ExitStack() as stack:
        for path, chunk in [(dataset / TEST_FILE, test), *zip(shards, chunks, strict=True)]:
            fh = stack.enter_context(atomic_open(path))
            json.dump(chunk, fh, ensure_ascii=False, indent=output.indent)
            fh.write("\n")
    _write_info(dataset, output.name, shards)
    keep = {p.name for p in shards}
    for path in shard_paths(dataset, output.name):
        if path.name not in keep:
            path.unlink()
    return shards


def _write_info(dataset: Path, name: str, shards: list[Path]) -> None:
    own = re.compile(rf"^{re.escape(name)}-(\d{{5}}-of-\d{{5}}|test)$")
    write_dataset_info(dataset, own, {p.stem: p.name for p in shards} | {f"{name}-test": TEST_FILE})
