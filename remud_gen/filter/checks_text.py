"""Rules on what an item's text says: no pointers to figures it cannot see, right language, sane length, no apology."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from remud_gen.filter.checks_base import IMAGE_TOKEN, Rule, RuleContext, first_match, label, nfkc, visible_len
from remud_gen.records import Sample
from remud_gen.text.lang import cjk_share

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


def _find_figure_reference(text: str) -> str | None:
    return first_match(_FIGURE_REFERENCES, nfkc(text))


def _find_boilerplate(text: str) -> str | None:
    return first_match(_BOILERPLATE, nfkc(text).lower())


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
            ratio, letters = cjk_share(turn.text.replace(IMAGE_TOKEN, ""))
            if letters < self.min_letters:
                continue
            if sample.language == "zh" and ratio < self.zh_min_cjk:
                return f"{label(sample, i)} is not Chinese (CJK {ratio:.2f})"
            if sample.language == "en" and ratio > self.en_max_cjk:
                return f"{label(sample, i)} is not English (CJK {ratio:.2f})"
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
                return f"{label(sample, i)} has {n} chars, at most {self.max_turn}"
            # an MCQ reply may be the bare letter
            short = self.min_answer if turn.role == "assistant" else self.min_question
            if n < short and not (turn.role == "assistant" and i == last and sample.options):
                return f"{label(sample, i)} has {n} chars, needs {short}"
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
