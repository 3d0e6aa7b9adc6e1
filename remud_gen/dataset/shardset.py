"""The dataset folder as split leaves it: training shards, test.json beside them, and their dataset_info
entries.

WORK/dataset/<name>-00000-of-000NN.json   the training records (same names and layout as filter writes)
WORK/dataset/test.json                    the test records; their "images/..." paths resolve from here too
WORK/dataset/dataset_info.json            one entry per shard plus "<name>-test"; other entries are kept
...and every extra format, rewritten from the same two lists (see remud_gen.dataset.dataset_files).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from remud_gen.dataset.dataset_files import TEST_FILE, shard_pattern, write_record_files
from remud_gen.dataset.settings import OutputSettings
from remud_gen.errors import InputError
from remud_gen.io import read_json

__all__ = ["TEST_FILE", "read_shards", "shard_paths", "write_split"]


def shard_paths(dataset: Path, name: str) -> list[Path]:
    """The training shards of dataset ``name``, in order."""
    own = shard_pattern(name)
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
    """Rewrite every record file of the dataset (shards, test.json, each extra format, dataset_info.json).

    Returns:
        The training shard paths.
    """
    return write_record_files(dataset, output, train, test).shards
