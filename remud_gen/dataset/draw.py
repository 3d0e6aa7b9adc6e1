"""Which multiple-choice records go to the test set: a seeded draw that keeps every stratum in proportion.

Each stratum (by default a kind and a region) gets its share of the test set by the largest-remainder method,
and within a stratum the records with the smallest seeded hash of their id are drawn. The draw depends on the
records' ids and the seed only, never on their order in the shards.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from remud_gen.dataset.settings import SplitSettings
from remud_gen.errors import UserError
from remud_gen.eval.extract_answer import normalise_choice
from remud_gen.eval.items import ANSWER_RE


@dataclass(frozen=True)
class Drawn:
    """The test records (indexes into the input) and the size of each stratum."""

    test: list[int]
    strata: dict[str, dict[str, int]]  # "kind=qa|region=liver" -> {"mcq": n, "test": m}


def is_mcq(record: Any) -> bool:
    """Whether a ShareGPT record is multiple-choice: its last gpt turn puts one letter in <answer> tags."""
    turns = record.get("conversations") if isinstance(record, dict) else None
    if not isinstance(turns, list) or not turns or not isinstance(turns[-1], dict):
        return False
    last = turns[-1]
    tag = ANSWER_RE.search(str(last.get("value", ""))) if last.get("from") == "gpt" else None
    return tag is not None and normalise_choice(tag.group(1)) is not None


def test_count(test_size: float, available: int) -> int:
    """How many items the test set holds: a fraction (< 1) of ``available``, or a number (>= 1).

    Raises:
        UserError: the test set would be empty or would take every item.
    """
    n = int(test_size) if test_size >= 1 else round(test_size * available)
    if test_size >= 1 and test_size != int(test_size):
        raise UserError(f"--test-size {test_size}: write a number of items (e.g. 300) or a fraction below 1")
    if n < 1:
        raise UserError(f"a test split of {test_size} of {available} multiple-choice items is empty; use more")
    if n >= available:
        raise UserError(
            f"a test split of {n} items would leave no multiple-choice item to train on ({available} in all)"
        )
    return n


def draw(records: Sequence[Any], ids: Sequence[str], settings: SplitSettings) -> Drawn:
    """Draw the test records from ``records`` (ShareGPT dicts; ``ids`` their ids)."""
    strata: dict[str, list[int]] = {}
    for i, record in enumerate(records):
        if is_mcq(record):
            label = "|".join(f"{name}={record.get(name) or 'unknown'}" for name in settings.stratify_by)
            strata.setdefault(label or "all", []).append(i)
    total = sum(len(members) for members in strata.values())
    if total == 0:
        raise UserError("the dataset holds no multiple-choice item (<answer>X</answer>) to hold out")
    quotas = allocate({label: len(m) for label, m in strata.items()}, test_count(settings.test_size, total))
    test: list[int] = []
    for label, members in strata.items():
        ranked = sorted(members, key=lambda i: hashlib.blake2b(f"{settings.seed}|{ids[i]}".encode()).digest())
        test += ranked[: quotas[label]]
    counts = {label: {"mcq": len(strata[label]), "test": quotas[label]} for label in sorted(strata)}
    return Drawn(sorted(test), counts)


def allocate(sizes: dict[str, int], n: int) -> dict[str, int]:
    """Split ``n`` over strata in proportion to their sizes (largest remainder; ties by stratum name)."""
    total = sum(sizes.values())
    exact = {label: n * size / total for label, size in sizes.items()}
    quotas = {label: math.floor(q) for label, q in exact.items()}
    left = n - sum(quotas.values())
    for label in sorted(exact, key=lambda s: (-(exact[s] - quotas[s]), s))[:left]:
        quotas[label] += 1
    return quotas
