"""Rules on the shape of an item: schema, turn order, empty turns, stray tags, images, trace length, MCQ options."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import ClassVar

from remud_gen.filter.checks_base import IMAGE_TOKEN, Rule, RuleContext, is_reasoning, label, nfkc, visible_len
from remud_gen.records import REGIONS, Sample

_TAG = re.compile(r"</?\s*(?:think|answer)\s*>", re.IGNORECASE)


def _find_tag(text: str) -> str | None:
    match = _TAG.search(text)
    return match.group(0) if match else None


def _norm_option(text: str) -> str:
    return " ".join(nfkc(text).casefold().split())


class ValidSchema(Rule):
    name = "valid_schema"

    def check(self, sample: Sample, ctx: RuleContext) -> str | None:
        if not sample.sample_id.strip():
            return "empty sample_id"
        if not sample.kind.strip():
            return "empty kind"
        if not sample.turns:
            return "no turns"
        if sample.region not in REGIONS:
            return f"unknown region {sample.region!r}"
        return None


class RolesAlternate(Rule):
    name = "roles_alternate"

    def check(self, sample: Sample, ctx: RuleContext) -> str | None:
        start = 1 if sample.turns and sample.turns[0].role == "system" else 0
        if start == len(sample.turns):
            return "no user/assistant turns"
        for i in range(start, len(sample.turns)):
            expected = "user" if (i - start) % 2 == 0 else "assistant"
            if sample.turns[i].role != expected:
                return f"turn {i + 1} is {sample.turns[i].role}, expected {expected}"
        if sample.turns[-1].role != "assistant":
            return "last turn is the user's (no reply)"
        return None


class NoEmptyTurn(Rule):
    name = "no_empty_turn"

    def check(self, sample: Sample, ctx: RuleContext) -> str | None:
        for i, turn in enumerate(sample.turns):
            if visible_len(turn.text.replace(IMAGE_TOKEN, "")) == 0:
                return f"{label(sample, i)} is empty"
        return None


class NoStrayTags(Rule):
    """The writer adds <think>/<answer> itself: a model that leaked them into a turn would nest them."""

    name = "no_stray_tags"

    def check(self, sample: Sample, ctx: RuleContext) -> str | None:
        texts = [(label(sample, i), t.text) for i, t in enumerate(sample.turns)]
        texts += [("thinking", sample.thinking or ""), ("answer", sample.answer or "")]
        for where, text in texts:
            found = _find_tag(text)
            if found:
                return f"{found} in {where}"
        return None


@dataclass
class ImagesConsistent(Rule):
    name: ClassVar[str] = "images_consistent"
    image_kinds: Sequence[str]

    def check(self, sample: Sample, ctx: RuleContext) -> str | None:
        tokens = sum(t.text.count(IMAGE_TOKEN) for t in sample.turns)
        if any(IMAGE_TOKEN in t.text for t in sample.turns if t.role != "user"):
            return f"{IMAGE_TOKEN} outside a user turn"
        if tokens and tokens != len(sample.images):
            return f"{tokens} {IMAGE_TOKEN} tokens for {len(sample.images)} images"
        if sample.kind in self.image_kinds and not sample.images:
            return f"{sample.kind} item without an image"
        if len(set(sample.images)) != len(sample.images):
            return "the same image is attached twice"
        for image in sample.images:
            path = PurePosixPath(image)
            if not image or path.is_absolute() or ".." in path.parts or "\\" in image:
                return f"image path is not relative to WORK: {image!r}"
            if not (ctx.work / path).is_file():
                return f"missing image {image}"
        return None


@dataclass
class ThinkingTrace(Rule):
    name: ClassVar[str] = "thinking_trace"
    min_chars: int
    max_chars: int

    def check(self, sample: Sample, ctx: RuleContext) -> str | None:
        if not is_reasoning(sample):
            return None
        n = visible_len(sample.thinking or "")
        if n < self.min_chars:
            return f"thinking trace has {n} chars, needs {self.min_chars}"
        if n > self.max_chars:
            return f"thinking trace has {n} chars, at most {self.max_chars}"
        return None


class ValidChoice(Rule):
    name = "mcq_answer"

    def check(self, sample: Sample, ctx: RuleContext) -> str | None:
        if sample.options is None:
            return None
        keys = sorted(sample.options)
        if not 2 <= len(keys) <= 5:
            return f"{len(keys)} options, needs 2-5"
        if keys != list("ABCDE"[: len(keys)]):
            return f"option keys {''.join(keys)} are not A-{'ABCDE'[len(keys) - 1]}"
        values = [_norm_option(v) for v in sample.options.values()]
        if not all(values):
            return "an option is empty"
        if len(set(values)) != len(values):
            return "two options are the same"
        answer = (sample.answer or "").strip()
        if answer not in sample.options:
            return f"answer {answer!r} is not one of {''.join(keys)}"
        return None
