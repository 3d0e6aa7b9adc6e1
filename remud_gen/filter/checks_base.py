"""What every rule check shares: the `Rule` base, its context, and the text measures rules are made of.

Modelled on datatrove's filters: a rule has a `name` and one method, `check`, returning None when the sample passes
and a short detail when it fails. The rules themselves are in `checks_form` (the shape of an item) and `checks_text`
(what its text says); `rules` puts them together.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from remud_gen.records import Sample

IMAGE_TOKEN = "<image>"


@dataclass(frozen=True)
class RuleContext:
    """What rules may look at besides the sample: the work directory its image paths are relative to."""

    work: Path


class Rule:
    """One check. Subclasses set `name` and implement `check`."""

    name: ClassVar[str]

    def check(self, sample: Sample, ctx: RuleContext) -> str | None:
        """Return None when the sample passes, else a short detail of what is wrong."""
        raise NotImplementedError


def is_reasoning(sample: Sample) -> bool:
    """Whether the sample is a reasoning item (it must carry a thinking trace).

    The kinds whose schema says `"reasoning": true`: qa-reasoning, vqa-reasoning, vqa-reasoning-open (which the
    old `endswith("-reasoning")` test missed, dropping its trace from the shards) and vqa-compare.
    """
    return "-reasoning" in sample.kind or sample.kind == "vqa-compare" or bool(sample.options)


def visible_len(text: str) -> int:
    """Length without whitespace and invisible format characters (a reply of zero-width spaces is empty)."""
    return sum(1 for ch in text if not ch.isspace() and unicodedata.category(ch) not in ("Cf", "Cc"))


def label(sample: Sample, index: int) -> str:
    return f"{sample.turns[index].role} turn {index + 1}"


def nfkc(text: str) -> str:
    # full-width digits, letters and commas (图３, Ａ图, 抱歉，) become ASCII so one pattern covers both forms
    return unicodedata.normalize("NFKC", text).replace("\u2019", "'")


def first_match(patterns: Sequence[re.Pattern[str]], text: str) -> str | None:
    hits = [m for p in patterns if (m := p.search(text))]
    # the earliest hit is the one a reader finds first in the text
    return min(hits, key=lambda m: m.start()).group(0).strip() if hits else None
