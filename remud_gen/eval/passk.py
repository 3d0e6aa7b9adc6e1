"""pass@1 as ReMUD reports it, with a bootstrap interval, overall and per group.

pass@1 = mean over questions of (correct samples / k), the unbiased pass@1 estimator of Chen et al. (2021)
with n = k. It is computed as one fraction (all correct samples over questions x k), so it is exact: a test
that counts the right answers gets the same float. The interval is a percentile bootstrap over questions
(samples of a question stay together), seeded per group so a group's interval does not depend on the other
groups.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

_CELLS_PER_CHUNK = 2_000_000  # resample matrix cells held in memory at once


@dataclass(frozen=True)
class Scored:
    """One question's outcome: how many of its k samples were right, and the labels it is grouped by."""

    id: str
    correct: int
    k: int
    kind: str
    region: str
    language: str


@dataclass(frozen=True)
class GroupScore:
    """pass@1 of a set of questions with its bootstrap interval."""

    questions: int
    correct: int
    samples: int
    pass1: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float | int]:
        return {
            "questions": self.questions,
            "correct_samples": self.correct,
            "samples": self.samples,
            "pass@1": self.pass1,
            "ci_low": round(self.low, 6),
            "ci_high": round(self.high, 6),
        }


def pass_at_1(items: Sequence[Scored]) -> float:
    """Mean over questions of correct/k, computed exactly (0.0 for no questions)."""
    if not items:
        return 0.0
    return float(sum(Fraction(s.correct, s.k) for s in items) / len(items))


def bootstrap_interval(
    per_question: np.ndarray, rounds: int, confidence: float, rng: np.random.Generator
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``per_question`` (questions drawn with replacement)."""
    n = len(per_question)
    if n == 0:
        return 0.0, 0.0
    means = np.empty(rounds)
    step = max(1, _CELLS_PER_CHUNK // n)
    for start in range(0, rounds, step):
        rows = min(step, rounds - start)
        means[start : start + rows] = per_question[rng.integers(0, n, size=(rows, n))].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def score(items: Iterable[Scored], label: str, rounds: int, confidence: float, seed: int) -> GroupScore:
    """pass@1 and its interval for one group of questions; ``label`` names the group in the bootstrap seed."""
    group = list(items)
    per_question = np.array([s.correct / s.k for s in group], dtype=float)
    rng = np.random.default_rng([seed, zlib.crc32(label.encode("utf-8"))])
    low, high = bootstrap_interval(per_question, rounds, confidence, rng)
    correct = sum(s.correct for s in group)
    return GroupScore(len(group), correct, sum(s.k for s in group), pass_at_1(group), low, high)


def score_groups(
    items: Sequence[Scored], by: Sequence[str], rounds: int, confidence: float, seed: int
) -> dict[str, Any]:
    """Overall and per-group scores, e.g. ``by=("kind", "region", "language")``.

    Returns:
        {"overall": {...}, "by_kind": {"qa": {...}, ...}, ...} with groups sorted by name.
    """
    report: dict[str, Any] = {"overall": score(items, "overall", rounds, confidence, seed).as_dict()}
    for field_name in by:
        groups: dict[str, list[Scored]] = {}
        for s in items:
            groups.setdefault(str(getattr(s, field_name)), []).append(s)
        report[f"by_{field_name}"] = {
            name: score(members, f"{field_name}={name}", rounds, confidence, seed).as_dict()
            for name, members in sorted(groups.items())
        }
    return report
