"""One accepted sample as a LLaMA-Factory ShareGPT record.

    {"conversations": [{"from": "system"|"human"|"gpt", "value": ...}, ...], "images": ["images/<name>", ...]}

VQA items carry one `<image>` token per image at the start of the first human turn (LLaMA-Factory checks that the
token count equals the image count). Reasoning items end with `<think>\\n...\\n</think>\\n\\n` and the answer, the
spacing LLaMA-Factory's reasoning templates split on; multiple-choice items list their options in the question and
answer `<answer>X</answer>`, the form ReMUD's evaluation reads.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from remud_gen.filter.rules import IMAGE_TOKEN, is_reasoning
from remud_gen.records import Sample

_ROLE = {"system": "system", "user": "human", "assistant": "gpt"}


def think_block(thinking: str) -> str:
    """The reasoning trace wrapped as LLaMA-Factory's thought words expect."""
    return f"<think>\n{thinking.strip()}\n</think>\n\n"


def options_listed(question: str, options: dict[str, str]) -> bool:
    """Whether every option already has its own "A. ..." line in the question."""
    return all(re.search(rf"(?m)^\s*{re.escape(k)}\s*[.．、:：)）]", question) for k in options)


def with_options(question: str, options: dict[str, str]) -> str:
    """The question followed by one "A. option" line per option, unless they are already there."""
    if options_listed(question, options):
        return question
    lines = "\n".join(f"{k}. {options[k].strip()}" for k in sorted(options))
    return f"{question.rstrip()}\n{lines}"


def to_sharegpt(
    sample: Sample,
    images: Sequence[str],
    system_prompt: str | None = None,
    *,
    metadata: bool = True,
) -> dict[str, Any]:
    """Convert one sample to a ShareGPT record.

    Args:
        sample: an accepted sample (roles alternate and end with the assistant).
        images: the sample's image paths as the shard should list them (relative to the shard file).
        system_prompt: the dataset's system prompt for the sample's language; when empty, a leading system turn of
            the sample is kept instead.
        metadata: also write "id", "kind", "language" and "region" (trainers ignore extra keys; eval and split
            use them).

    Returns:
        The record, ready for `json.dumps`.
    """
    turns = list(sample.turns)
    system = system_prompt.strip() if system_prompt and system_prompt.strip() else None
    if turns and turns[0].role == "system":
        system = system or turns[0].text.strip() or None
        turns = turns[1:]
    # tokens the sample placed itself are kept when they match the images; otherwise (none, or a count the rules
    # would reject) they are rebuilt at the start of the first turn so the layout is valid whatever the input
    rebuild = sum(t.text.count(IMAGE_TOKEN) for t in turns) != len(images)
    last = len(turns) - 1
    messages: list[dict[str, str]] = [{"from": "system", "value": system}] if system else []
    for i, turn in enumerate(turns):
        text = turn.text.replace(IMAGE_TOKEN, "").strip() if rebuild else turn.text.strip()
        if rebuild and i == 0:
            text = IMAGE_TOKEN * len(images) + text
        if turn.role == "user" and sample.options and i == last - 1:
            text = with_options(text, sample.options)
        if i == last and is_reasoning(sample):
            final = f"<answer>{(sample.answer or '').strip()}</answer>" if sample.options else text
            text = (think_block(sample.thinking) if sample.thinking and sample.thinking.strip() else "") + final
        messages.append({"from": _ROLE[turn.role], "value": text})
    record: dict[str, Any] = {"conversations": messages, "images": list(images)}
    if metadata:
        record.update(id=sample.sample_id, kind=sample.kind, language=sample.language, region=sample.region)
    return record
