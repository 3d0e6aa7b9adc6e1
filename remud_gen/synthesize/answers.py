"""From a model's answer to a `Sample`: checking the JSON, choosing the reasoning trace, balancing MCQ letters."""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from remud_gen.llm.journal import Answer
from remud_gen.llm.parse import ParseError, parse_json_object, split_think
from remud_gen.records import REGIONS, Generator, Language, Sample, Turn, Usage
from remud_gen.synthesize.settings import ThinkingSource
from remud_gen.synthesize.tasks import Task
from remud_gen.synthesize.units import Unit

LETTERS = "ABCDE"


def answer_parser(task: Task, turns: int | None = None) -> Callable[[str], dict[str, Any]]:
    """A parser for the client: repaired JSON that has every required field, non-empty, of the right shape.

    Args:
        task: the kind asked for (its schema's required fields, whether it is multiple choice).
        turns: the dialogue length asked for (`synthesize.turns`): extra turns are cut (each turn only builds on
            the ones before it), fewer is a parse error, so the model is asked again and a second short answer
            fails the item with that reason. None: any number.
    """
    required = list(task.schema.get("required", []))

    def parse(text: str) -> dict[str, Any]:
        value = parse_json_object(text)
        missing = [k for k in required if value.get(k) in (None, "", [], {})]
        if missing:
            raise ParseError(f"answer lacks {', '.join(missing)}")
        if "turns" in value:
            complete = [t for t in value["turns"] if _is_turn(t)]
            if not complete:
                raise ParseError("no complete question/answer turn")
            if turns is not None and len(complete) < turns:
                raise ParseError(f"the dialogue has {len(complete)} complete turn(s); {turns} were asked for")
            value["turns"] = complete[:turns] if turns else complete  # a truncated array keeps its complete items
        if task.mcq:
            options = value.get("options")
            if not isinstance(options, dict) or not all(str(options.get(k, "")).strip() for k in LETTERS):
                raise ParseError("options must be an object with non-empty A-E")
            letter = option_letter(value.get("answer"))
            if letter is None:
                raise ParseError(f"answer {value.get('answer')!r} is not one of A-E")
            value["answer"] = letter
        return value

    return parse


_LETTER = re.compile(r"^\W*([A-Ea-e])(?![A-Za-z])")


def option_letter(raw: Any) -> str | None:
    """The option letter in "B", "b", "(B)", "B.", "Ｂ", "B. Haemangioma"; None when there is none."""
    m = _LETTER.match(unicodedata.normalize("NFKC", str(raw or "")).strip())
    return m.group(1).upper() if m else None


def _is_turn(t: Any) -> bool:
    return isinstance(t, dict) and bool(str(t.get("question", "")).strip()) and bool(str(t.get("answer", "")).strip())


def thinking_trace(value: dict[str, Any], answer: Answer, order: list[ThinkingSource]) -> str | None:
    """The reasoning trace from the first source in ``order`` that has one."""
    for source in order:
        if source == "reasoning_content" and answer.reasoning and answer.reasoning.strip():
            return answer.reasoning.strip()
        if source == "think_tag":
            think, _ = split_think(answer.content)
            if think:
                return think
        if source == "schema" and str(value.get("thinking", "")).strip():
            findings = value.get("findings") or []
            lead = "\n".join(f"- {f}" for f in findings if isinstance(f, str) and f.strip())
            return (lead + "\n" + str(value["thinking"]).strip()).strip()
    return None


def balance_options(options: dict[str, str], correct: str, target: str, sample_id: str) -> tuple[dict[str, str], str]:
    """Reorder options so the correct one sits at ``target``; the distractors are shuffled deterministically."""
    right = options[correct]
    others = [options[k] for k in LETTERS if k != correct]
    rng = random.Random(hashlib.sha256(sample_id.encode()).digest())
    rng.shuffle(others)
    out: dict[str, str] = {}
    for letter in LETTERS:
        out[letter] = right if letter == target else others.pop(0)
    return out, target


def to_sample(
    task: Task,
    unit: Unit,
    language: Language,
    value: dict[str, Any],
    answer: Answer,
    generator: Generator,
    usage: Usage,
    *,
    thinking_order: list[ThinkingSource],
    target_letter: str | None,
    variant: int = 0,
) -> Sample:
    """Build the sample record for one parsed answer."""
    sample_id = f"{task.kind}-{unit.unit_id}-{language}" + (f"-v{variant}" if variant else "")
    options: dict[str, str] | None = None
    final: str | None = None
    if "turns" in value:
        turns = []
        for t in value["turns"]:
            turns += [
                Turn(role="user", text=str(t["question"]).strip()),
                Turn(role="assistant", text=str(t["answer"]).strip()),
            ]
    else:
        final = str(value.get("answer", "")).strip()
        if task.mcq:
            options = {k: str(value["options"][k]).strip() for k in LETTERS}
            if target_letter:
                options, final = balance_options(options, final, target_letter, sample_id)
        reply = f"{final}. {options[final]}" if options else final
        turns = [Turn(role="user", text=str(value["question"]).strip()), Turn(role="assistant", text=reply)]
    region = str(value.get("region", "other"))
    return Sample(
        sample_id=sample_id,
        kind=task.kind,
        language=language,
        turns=turns,
        thinking=thinking_trace(value, answer, thinking_order) if task.reasoning else None,
        answer=final,
        options=options,
        images=list(unit.images[:1]) if unit.kind == "figure" else list(unit.images) if unit.kind == "panels" else [],
        region=region if region in REGIONS else "other",
        evidence=[str(e) for e in value.get("evidence", []) if str(e).strip()],
        outside_knowledge=[str(e) for e in value.get("outside_knowledge", []) or [] if str(e).strip()],
        source=unit.ref,
        generator=generator,
        usage=usage,
    )
