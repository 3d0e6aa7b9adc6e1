"""Rule checks: each rule looks at one sample and names what is wrong with it, or passes it.

Modelled on datatrove's filters: a rule has a `name` and one method, `check`, returning None when the sample passes
and a short detail when it fails. `run_rules` turns failures into reasons "<name>: <detail>" (e.g.
"no_figure_reference: 图中A部分") that the stage counts by name and writes to rejected.jsonl. Rules never raise on a
well-typed `Sample`, however odd its content.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from remud_gen.records import REGIONS, Sample

IMAGE_TOKEN = "<image>"


class FilterRulesSettings(BaseModel):
    """Thresholds of the rule checks."""

    model_config = ConfigDict(extra="forbid")

    min_thinking_chars: int = Field(
        default=50, ge=0, description="shortest thinking trace of a reasoning item (characters)"
    )
    max_thinking_chars: int = Field(default=12000, ge=1, description="longest thinking trace (characters)")
    min_question_chars: int = Field(default=4, ge=1, description="shortest user turn (visible characters)")
    min_answer_chars: int = Field(default=2, ge=1, description="shortest assistant turn (visible characters)")
    max_turn_chars: int = Field(default=4000, ge=1, description="longest single turn (visible characters)")
    zh_min_cjk_ratio: float = Field(
        default=0.3, ge=0, le=1, description="a zh turn needs this share of CJK among letters (abbreviations are Latin)"
    )
    en_max_cjk_ratio: float = Field(
        default=0.05, ge=0, le=1, description="an en turn may have at most this share of CJK"
    )
    language_min_letters: int = Field(
        default=8, ge=1, description="turns with fewer letters are not checked for language"
    )
    image_kinds: list[str] = Field(
        default_factory=lambda: ["vqa", "vqa-reasoning", "vqa-reasoning-open"],
        description="kinds that must carry at least one image",
    )
    disabled: list[str] = Field(default_factory=list, description="names of rules to skip, e.g. [language_match]")

    @field_validator("disabled")
    @classmethod
    def _known_rules(cls, names: list[str]) -> list[str]:
        unknown = sorted(set(names) - set(RULE_NAMES))
        if unknown:
            raise ValueError(f"unknown rule(s) {', '.join(unknown)}; known: {', '.join(RULE_NAMES)}")
        return names


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
    """Whether the sample is a reasoning item (it must carry a thinking trace)."""
    return sample.kind.endswith("-reasoning") or bool(sample.options)


def visible_len(text: str) -> int:
    """Length without whitespace and invisible format characters (a reply of zero-width spaces is empty)."""
    return sum(1 for ch in text if not ch.isspace() and unicodedata.category(ch) not in ("Cf", "Cc"))


def _label(sample: Sample, index: int) -> str:
    return f"{sample.turns[index].role} turn {index + 1}"


def _nfkc(text: str) -> str:
    # full-width digits, letters and commas (图３, Ａ图, 抱歉，) become ASCII so one pattern covers both forms
    return unicodedata.normalize("NFKC", text).replace("\u2019", "'")


_NUM = r"[0-9一二三四五六七八九十百]+"
# Textbook cross-references and multi-image talk. A VQA item attaches ONE crop, so "the image shows" is fine but
# "图中A部分", "panel B" or "the previous image" point at something the trainee model never sees.
_FIGURE_REFERENCES = [
    re.compile(p)
    for p in (
        rf"(?<![电])图\s*{_NUM}(?:\s*[-–—.·]\s*[0-9]+)*",  # 图3-2, 图 3, 图三
        r"图[中片内]?\s*[A-Ha-h](?![A-Za-z])(?:部分|区域|处)?",  # 图中A部分, 图A, 图片b
        r"(?<![A-Za-z0-9])[A-Ha-h]\s?图(?![像片谱])",  # A图
        rf"如图(?!像)(?:\s*{_NUM}(?:\s*[-.]\s*[0-9]+)*)?(?:中?所示|示)?",  # 如图所示, 如图3-2
        r"(?<![以向])[上下左右前后]图(?![像片谱表形标案层])",  # 上图, 下图, 如下图所示, 左图
        r"[前上后下另]一(?:张|幅|帧)",  # 前一张, 上一张, 后一张, 另一幅
        rf"第\s*{_NUM}\s*页",  # 第12页
        rf"(?:见|参见|参考|详见)\s*第?\s*{_NUM}\s*[章节页]",  # 见第3章
        rf"第\s*{_NUM}\s*章",
        r"(?<![代发列报外仪钟])表\s*[0-9]+(?:\s*[-.]\s*[0-9]+)*",  # 表3-1 (not 代表3种)
        r"(?i)\bfig(?:ure)?s?\.?\s*S?[0-9]+[a-z]?\b",  # Figure 2, Fig. 3b
        r"(?i)\bpanels?\s*\(?[A-H]\b",  # panel B
        r"\b(?i:image|picture|photo)\s+[A-H]\b",  # image A (the letter must be a capital)
        r"(?i)\b(?:previous|preceding|prior|next|above|below|other)\s+(?:image|figure|picture|panel|photo)s?\b",
        r"(?i)\b(?:image|figure|picture|panel|photo)s?\s+(?:above|below)\b",
        r"(?i)\bas\s+(?:shown|seen|illustrated|depicted|demonstrated)\s+(?:above|below|in\s+the\s+figure)\b",
        r"(?i)\b(?:image|figure|picture|panel)s?\s+(?:on|to|at)\s+the\s+(?:left|right|top|bottom)\b",
        r"(?i)\b(?:left|right|upper|lower|top|bottom)(?:-hand)?\s+(?:image|figure|picture|panel)s?\b",
        r"(?i)\bpages?\s+[0-9]+\b",
        r"\bpp?\.\s*[0-9]+\b",  # p. 12
        r"(?i)\btables?\s+[0-9]+\b",
        r"(?i)\b(?:chapter\s+[0-9]+|see\s+(?:chapter|section))\b",
    )
]

_BOILERPLATE = [
    re.compile(p)
    for p in (
        r"\bas an ai\b",
        r"\bas a(?:n ai)? (?:large )?language model\b",
        r"\bi(?:'m| am) (?:sorry|unable|not able|just an ai|an ai)\b",
        r"\bi (?:cannot|can't|can not)\b",
        r"\bi apologi[sz]e\b",
        r"作为(?:一[个名])?(?:ai|人工智能|语言模型)",
        r"(?:抱歉|对不起|很遗憾)[,、]?\s*我(?:无法|不能|没法)?",
        r"我(?:无法|不能|没法)",
    )
]

_TAG = re.compile(r"</?\s*(?:think|answer)\s*>", re.IGNORECASE)


def _first_match(patterns: Sequence[re.Pattern[str]], text: str) -> str | None:
    hits = [m for p in patterns if (m := p.search(text))]
    # the earliest hit is the one a reader finds first in the text
    return min(hits, key=lambda m: m.start()).group(0).strip() if hits else None


def _find_figure_reference(text: str) -> str | None:
    return _first_match(_FIGURE_REFERENCES, _nfkc(text))


def _find_boilerplate(text: str) -> str | None:
    return _first_match(_BOILERPLATE, _nfkc(text).lower())


def _find_tag(text: str) -> str | None:
    match = _TAG.search(text)
    return match.group(0) if match else None


def _norm_option(text: str) -> str:
    return " ".join(_nfkc(text).casefold().split())


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x2FA1F


def cjk_ratio(text: str) -> tuple[float, int]:
    """Share of CJK ideographs among letters (CJK + Latin), and the number of letters counted."""
    cjk = latin = 0
    for ch in text:
        if _is_cjk(ch):
            cjk += 1
        elif ch.isalpha() and ord(ch) < 0x250:
            latin += 1
    letters = cjk + latin
    return (cjk / letters if letters else 0.0), letters


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
                return f"{_label(sample, i)} is empty"
        return None


class NoStrayTags(Rule):
    """The writer adds <think>/<answer> itself: a model that leaked them into a turn would nest them."""

    name = "no_stray_tags"

    def check(self, sample: Sample, ctx: RuleContext) -> str | None:
        texts = [(_label(sample, i), t.text) for i, t in enumerate(sample.turns)]
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


class NoFigureReference(Rule):
    name = "no_figure_reference"

    def check(self, sample: Sample, ctx: RuleContext) -> str | None:
        texts = [t.text for t in sample.turns if t.role != "system"]
        texts += [sample.thinking or "", *(sample.options or {}).values()]
        for text in texts:
            found = _find_figure_reference(text)
            if found:
                return found
        return None


@dataclass
class LanguageMatch(Rule):
    name: ClassVar[str] = "language_match"
    zh_min_cjk: float
    en_max_cjk: float
    min_letters: int

    def check(self, sample: Sample, ctx: RuleContext) -> str | None:
        for i, turn in enumerate(sample.turns):
            if turn.role == "system":
                continue
            ratio, letters = cjk_ratio(turn.text.replace(IMAGE_TOKEN, ""))
            if letters < self.min_letters:
                continue
            if sample.language == "zh" and ratio < self.zh_min_cjk:
                return f"{_label(sample, i)} is not Chinese (CJK {ratio:.2f})"
            if sample.language == "en" and ratio > self.en_max_cjk:
                return f"{_label(sample, i)} is not English (CJK {ratio:.2f})"
        return None


@dataclass
class LengthBounds(Rule):
    name: ClassVar[str] = "length_bounds"
    min_question: int
    min_answer: int
    max_turn: int

    def check(self, sample: Sample, ctx: RuleContext) -> str | None:
        last = len(sample.turns) - 1
        for i, turn in enumerate(sample.turns):
            n = visible_len(turn.text.replace(IMAGE_TOKEN, ""))
            if n == 0 or turn.role == "system":
                continue  # empty turns are no_empty_turn's; system prompts are the writer's
            if n > self.max_turn:
                return f"{_label(sample, i)} has {n} chars, at most {self.max_turn}"
            # an MCQ reply may be the bare letter
            short = self.min_answer if turn.role == "assistant" else self.min_question
            if n < short and not (turn.role == "assistant" and i == last and sample.options):
                return f"{_label(sample, i)} has {n} chars, needs {short}"
        return None


class NoBoilerplate(Rule):
    name = "no_boilerplate"

    def check(self, sample: Sample, ctx: RuleContext) -> str | None:
        for turn in sample.turns:
            if turn.role == "assistant":
                found = _find_boilerplate(turn.text)
                if found:
                    return found
        return None


RULE_NAMES: tuple[str, ...] = (
    ValidSchema.name,
    RolesAlternate.name,
    NoEmptyTurn.name,
    NoStrayTags.name,
    ImagesConsistent.name,
    ThinkingTrace.name,
    ValidChoice.name,
    NoFigureReference.name,
    LanguageMatch.name,
    LengthBounds.name,
    NoBoilerplate.name,
)


def default_rules(settings: FilterRulesSettings) -> list[Rule]:
    """Every rule, configured from ``settings``, minus those named in ``settings.disabled``."""
    rules: list[Rule] = [
        ValidSchema(),
        RolesAlternate(),
        NoEmptyTurn(),
        NoStrayTags(),
        ImagesConsistent(image_kinds=tuple(settings.image_kinds)),
        ThinkingTrace(min_chars=settings.min_thinking_chars, max_chars=settings.max_thinking_chars),
        ValidChoice(),
        NoFigureReference(),
        LanguageMatch(settings.zh_min_cjk_ratio, settings.en_max_cjk_ratio, settings.language_min_letters),
        LengthBounds(settings.min_question_chars, settings.min_answer_chars, settings.max_turn_chars),
        NoBoilerplate(),
    ]
    return [r for r in rules if r.name not in settings.disabled]


def run_rules(sample: Sample, rules: Sequence[Rule], ctx: RuleContext) -> list[str]:
    """Run every rule; return one reason "<rule name>: <detail>" per failed rule (empty: the sample passes)."""
    reasons = []
    for rule in rules:
        detail = rule.check(sample, ctx)
        if detail is not None:
            reasons.append(f"{rule.name}: {detail}")
    return reasons


def reason_name(reason: str) -> str:
    """The rule (or dedup, or judge) name a reason string starts with: "no_empty_turn: ..." -> "no_empty_turn"."""
    return reason.split(":", 1)[0].strip()
