"""From the samples a model wrote to scored questions, per-item predictions and the lists a report shows.

A sample whose answer names no letter is a parse failure and counts as wrong; a sample whose request failed
for good also counts as wrong and is listed apart (a re-run asks it again). A question with a sample never
asked (the run stopped early) is not scored at all, so a partial run never passes for a complete one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from remud_gen.eval.extract_answer import extract_answer
from remud_gen.eval.forcing import SampleOutput
from remud_gen.eval.items import EvalItem
from remud_gen.eval.passk import Scored

_SHOWN_CHARS = 400  # of a failed answer, in the report


@dataclass
class Judged:
    """Every question's outcome."""

    scored: list[Scored] = field(default_factory=list)
    predictions: list[dict[str, Any]] = field(default_factory=list)
    parse_failures: list[dict[str, Any]] = field(default_factory=list)
    request_failures: list[dict[str, Any]] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)
    found_by: Counter[str] = field(default_factory=Counter)
    waits: Counter[int] = field(default_factory=Counter)
    in_reasoning_field: int = 0  # samples whose trace the endpoint returned apart, in reasoning_content

    @property
    def samples(self) -> int:
        return sum(s.k for s in self.scored)


def judge(items: list[EvalItem], outputs: dict[tuple[str, int], SampleOutput], k: int, seed: int) -> Judged:
    """Score every question whose k samples all came back.

    Args:
        items: the questions.
        outputs: each sample's answer, by (item id, sample index).
        k: samples per question.
        seed: the seed of sample 0 (sample i was sent with seed + i), written to the predictions.
    """
    judged = Judged()
    for item in items:
        samples = [outputs.get((item.id, i)) for i in range(k)]
        if any(s is None for s in samples):
            judged.unfinished.append(item.id)
            continue
        rows = []
        correct = 0
        for i, out in enumerate(samples):
            assert out is not None
            rows.append(_sample_row(item, i, out, seed, judged))
            correct += bool(rows[-1]["correct"])
        judged.scored.append(Scored(item.id, correct, k, item.kind, item.region, item.language))
        judged.predictions.append(
            {
                "id": item.id,
                "kind": item.kind,
                "region": item.region,
                "language": item.language,
                "key": item.key,
                "correct": correct,
                "k": k,
                "score": correct / k,
                "samples": rows,
            }
        )
    return judged


def _sample_row(item: EvalItem, index: int, out: SampleOutput, seed: int, judged: Judged) -> dict[str, Any]:
    row: dict[str, Any] = {
        "sample": index,
        "seed": seed + index,
        "answer": None,
        "found_by": None,
        "correct": False,
    }
    judged.waits[out.waits] += 1
    judged.in_reasoning_field += out.reasoning_field
    if out.waits:
        row["waits"] = out.waits
    if out.error is not None or out.text is None:
        row["error"] = out.error or "no answer"
        judged.request_failures.append({"id": item.id, "sample": index, "error": row["error"]})
        return row
    found = extract_answer(out.text)
    row.update(answer=found.letter, found_by=found.how if found.parsed else None, output=out.text)
    if found.letter is None:
        reason = "unreadable <answer> content" if found.how == "tag" else "no answer letter found"
        judged.parse_failures.append(
            {"id": item.id, "sample": index, "reason": reason, "output": out.text[-_SHOWN_CHARS:]}
        )
    else:
        judged.found_by[found.how] += 1
        row["correct"] = found.letter == item.key
    return row
