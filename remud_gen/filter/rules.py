"""Rule checks: each rule looks at one sample and names what is wrong with it, or passes it.

`run_rules` turns failures into reasons "<name>: <detail>" (e.g. "no_figure_reference: 图中A部分") that the stage
counts by name and writes to rejected.jsonl. Rules never raise on a well-typed `Sample`, however odd its content. The
base class is in `checks_base`, the rules in `checks_form` and `checks_text`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from remud_gen.filter.checks_base import IMAGE_TOKEN, Rule, RuleContext, is_reasoning
from remud_gen.filter.checks_form import (
    ImagesConsistent,
    NoEmptyTurn,
    NoStrayTags,
    RolesAlternate,
    ThinkingTrace,
    ValidChoice,
    ValidSchema,
)
from remud_gen.filter.checks_text import LanguageMatch, LengthBounds, NoBoilerplate, NoFigureReference
from remud_gen.records import Sample

__all__ = ["IMAGE_TOKEN", "RULE_NAMES", "FilterRulesSettings", "Rule", "RuleContext", "default_rules", "is_reasoning"]


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
        default_factory=lambda: ["vqa", "vqa-reasoning", "vqa-reasoning-open", "vqa-compare"],
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
