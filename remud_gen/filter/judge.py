"""The judge: each item scored against the exact source and image it came from; MCQs also answered blind.

The judge never edits an item. Its calls go through the shared client, so a re-run with another threshold is
answered from the journal and sends nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from remud_gen.filter.judge_settings import DIMENSIONS, JudgeSettings
from remud_gen.llm.parse import ParseError, parse_json_object
from remud_gen.llm.request import ChatRequest, Message
from remud_gen.prompts import ChatPrompt, read_text, read_yaml, sha256_of
from remud_gen.records import JudgeScores, Sample


@dataclass(frozen=True)
class Source:
    """What an item was generated from, as the judge sees it."""

    text: str
    image: Path | None


@dataclass(frozen=True)
class JudgePrompts:
    judge: dict[str, ChatPrompt]
    blind: dict[str, ChatPrompt]
    judge_schema: dict[str, Any]
    blind_schema: dict[str, Any]
    labels: dict[str, dict[str, str]]
    version: str


def load_prompts(folder: Traversable) -> JudgePrompts:
    import json

    judge = {lang: ChatPrompt(folder / f"judge.{lang}.md") for lang in ("zh", "en")}
    blind = {lang: ChatPrompt(folder / f"blind.{lang}.md") for lang in ("zh", "en")}
    schemas = []
    for name in ("judge", "blind"):
        schema = json.loads(read_text(folder / f"{name}.schema.json"))
        schema.pop("x-remud", None)
        schemas.append(schema)
    labels = {lang: read_yaml(folder / f"rules.{lang}.yaml")["item_labels"] for lang in ("zh", "en")}
    version = sha256_of(*(p.text for p in [*judge.values(), *blind.values()]), *map(str, schemas), str(labels))
    return JudgePrompts(judge, blind, schemas[0], schemas[1], labels, version[:16])


def render_item(sample: Sample, labels: dict[str, str]) -> str:
    """The item as plain labelled text: turns, options, thinking and the answer key."""
    lines = []
    for i, turn in enumerate(sample.turns):
        if turn.role == "system":
            continue
        lines.append(f"{labels[turn.role]}: {turn.text}")
        if i == 0 and sample.options:
            lines.append(f"{labels['options']}:")
            lines += [f"{k}. {v}" for k, v in sample.options.items()]
    if sample.thinking:
        lines.append(f"{labels['thinking']}: {sample.thinking}")
    if sample.options and sample.answer:
        lines.append(f"{labels['answer_key']}: {sample.answer}")
    return "\n".join(lines)


def question_text(sample: Sample) -> str:
    first = next(t.text for t in sample.turns if t.role == "user")
    options = "\n".join(f"{k}. {v}" for k, v in (sample.options or {}).items())
    return f"{first}\n{options}"


def judge_requests(
    samples: list[Sample], sources: dict[str, Source], prompts: JudgePrompts, settings: JudgeSettings
) -> Iterator[ChatRequest]:
    """One scoring request per item, plus one blind-answer request per MCQ item (when enabled)."""
    params = {"temperature": settings.temperature, "max_tokens": settings.max_tokens}
    for sample in samples:
        src = sources[sample.sample_id]
        images = (src.image,) if src.image is not None else ()
        lang = sample.language
        system, user = prompts.judge[lang].render(source=src.text, item=render_item(sample, prompts.labels[lang]))
        yield ChatRequest(
            item=f"judge:{sample.sample_id}",
            messages=[Message("system", system), Message("user", user, images)],
            schema=prompts.judge_schema,
            schema_name="judge",
            prompt_version=prompts.version,
            params=params,
            parse=parse_scores,
            meta={"sample": sample.sample_id, "what": "scores"},
            cut_is_failure=True,  # repaired, a cut-off verdict kept its scores and lost its rationale
        )
        if settings.blind_mcq and sample.options:
            system, user = prompts.blind[lang].render(question=question_text(sample))
            yield ChatRequest(
                item=f"blind:{sample.sample_id}",
                messages=[Message("system", system), Message("user", user, images)],
                schema=prompts.blind_schema,
                schema_name="blind_answer",
                prompt_version=prompts.version,
                params={**params, "max_tokens": max(settings.max_tokens, 1024)},
                parse=parse_blind,
                meta={"sample": sample.sample_id, "what": "blind"},
                cut_is_failure=True,
            )


def parse_scores(text: str) -> dict[str, Any]:
    value = parse_json_object(text)
    for dim in DIMENSIONS:
        score = value.get(dim)
        if not isinstance(score, (int, float)) or not 1 <= score <= 5:
            raise ParseError(f"{dim} must be a score from 1 to 5, got {score!r}")
        value[dim] = round(score)
    value["rationale"] = str(value.get("rationale", "")).strip()
    return value


def parse_blind(text: str) -> str:
    letter = str(parse_json_object(text).get("answer", "")).strip().upper()[:1]
    if letter not in "ABCDE" or not letter:
        raise ParseError(f"blind answer {letter!r} is not one of A-E")
    return letter


def verdict(
    sample: Sample, scores: dict[str, Any], blind: str | None, settings: JudgeSettings, has_image: bool
) -> tuple[JudgeScores, float, list[str]]:
    """The judge's scores as a record, the weighted score over applicable dimensions, and the reasons to reject."""
    applicable = {d: scores[d] for d in DIMENSIONS}
    if not has_image:
        applicable.pop("image_text_consistency")
    if not sample.thinking:
        applicable.pop("reasoning_validity")
    total_w = sum(settings.weights.get(d, 0.0) for d in applicable) or 1.0
    weighted = sum(settings.weights.get(d, 0.0) * v for d, v in applicable.items()) / total_w
    reasons = []
    if weighted < settings.threshold:
        reasons.append(f"judge_score: {weighted:.2f} < {settings.threshold}")
    for dim, floor in settings.floors.items():
        if dim in applicable and applicable[dim] < floor:
            reasons.append(f"judge_floor: {dim} {applicable[dim]} < {floor}")
    if blind is not None and sample.answer and blind != sample.answer:
        reasons.append(f"blind_mismatch: judge chose {blind}, key is {sample.answer}")
    record = JudgeScores(
        faithfulness=scores["faithfulness"],
        image_text_consistency=applicable.get("image_text_consistency"),
        medical_correctness=scores["medical_correctness"],
        reasoning_validity=applicable.get("reasoning_validity"),
        clarity=scores["clarity"],
        rationale=scores["rationale"],
        blind_answer=blind,
    )
    return record, round(weighted, 3), reasons
