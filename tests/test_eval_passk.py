"""pass@1 and its bootstrap interval: exact values, seeded intervals, and groups."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from remud_gen.eval.passk import Scored, bootstrap_interval, pass_at_1, score, score_groups


def scored(correct: list[int], k: int = 4, kind: str = "qa", region: str = "liver") -> list[Scored]:
    return [Scored(f"q{i}", c, k, kind, region, "en") for i, c in enumerate(correct)]


@pytest.mark.parametrize(
    ("correct", "k", "expected"),
    [
        ([4, 4, 4], 4, 1.0),
        ([0, 0], 4, 0.0),
        ([1, 2, 3], 4, 0.5),
        ([1, 0, 0], 3, 1 / 9),
        ([3, 1, 2, 2, 0, 4, 1], 4, float(Fraction(13, 28))),
        ([], 4, 0.0),
    ],
)
def test_pass_at_1_is_the_mean_share_of_right_samples(correct: list[int], k: int, expected: float) -> None:
    assert pass_at_1(scored(correct, k)) == expected


def test_pass_at_1_is_exact_where_float_sums_are_not() -> None:
    # summing floats drifts: sum([0.1] * 7 + [0.2] * 3) / 10 == 0.12999999999999998
    items = scored([1] * 7 + [2] * 3, k=10)
    assert pass_at_1(items) == float(Fraction(13, 100))


def test_bootstrap_interval_brackets_the_mean_and_is_seeded() -> None:
    values = np.array([0.0, 0.25, 0.5, 0.75, 1.0] * 20)
    low, high = bootstrap_interval(values, 2000, 0.95, np.random.default_rng(7))
    assert low < values.mean() < high
    assert 0.35 < low < 0.45 and 0.55 < high < 0.65  # about mean +- 1.96 * sd / sqrt(n) = 0.5 +- 0.07
    assert (low, high) == bootstrap_interval(values, 2000, 0.95, np.random.default_rng(7))
    assert (low, high) != bootstrap_interval(values, 2000, 0.95, np.random.default_rng(8))


def test_a_wider_confidence_gives_a_wider_interval() -> None:
    values = np.linspace(0, 1, 50)
    low90, high90 = bootstrap_interval(values, 2000, 0.90, np.random.default_rng(0))
    low99, high99 = bootstrap_interval(values, 2000, 0.99, np.random.default_rng(0))
    assert low99 < low90 and high99 > high90


def test_a_constant_score_has_a_point_interval() -> None:
    result = score(scored([4, 4, 4]), "overall", 500, 0.95, 0)
    assert (result.pass1, result.low, result.high) == (1.0, 1.0, 1.0)


def test_groups_are_scored_apart_and_independently_of_each_other() -> None:
    items = scored([4, 4], kind="qa") + scored([0, 2], kind="vqa", region="thyroid")
    report = score_groups(items, ("kind", "region"), 500, 0.95, 0)
    assert report["overall"]["pass@1"] == 0.625
    by_kind = report["by_kind"]
    assert by_kind["qa"]["pass@1"] == 1.0 and by_kind["vqa"]["pass@1"] == 0.25
    assert report["by_region"]["thyroid"]["questions"] == 2
    # a group's interval does not move when other groups change
    alone = score_groups(scored([0, 2], kind="vqa", region="thyroid"), ("kind",), 500, 0.95, 0)
    assert alone["by_kind"]["vqa"] == by_kind["vqa"]
