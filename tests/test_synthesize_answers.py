"""From model answers to samples: the parser over bad outputs, reasoning traces, MCQ letter balance."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from remud_gen.llm.journal import Answer
from remud_gen.llm.parse import ParseError
from remud_gen.prompts import PACKAGE_PROMPTS
from remud_gen.records import Chunk, Generator, Usage
from remud_gen.synthesize.answers import LETTERS, answer_parser, balance_options, thinking_trace, to_sample
from remud_gen.synthesize.plan import plan_jobs
from remud_gen.synthesize.settings import SynthesizeSettings
from remud_gen.synthesize.tasks import load_task
from remud_gen.synthesize.units import chunk_unit

QA = load_task("qa", PACKAGE_PROMPTS)
MCQ = load_task("qa-reasoning", PACKAGE_PROMPTS)
OPTIONS = {"A": "Cyst", "B": "Haemangioma", "C": "Abscess", "D": "Metastasis", "E": "Lipoma"}
MCQ_JSON = {
    "question": "Which lesion is anechoic?",
    "options": OPTIONS,
    "thinking": "An anechoic lesion with posterior enhancement is a simple cyst.",
    "answer": "A",
    "evidence": ["A simple cyst is anechoic."],
    "region": "liver",
}


def answer(content: str, reasoning: str | None = None, finish: str = "stop") -> Answer:
    return Answer("k", "item", content, reasoning, finish, 10, 10, 0)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        (json.dumps(MCQ_JSON), True),
        ("```json\n" + json.dumps(MCQ_JSON) + "\n```", True),
        ("Here you go:\n" + json.dumps(MCQ_JSON) + "\nThanks", True),
        ("<think>let me see</think>" + json.dumps(MCQ_JSON), True),
        (json.dumps(MCQ_JSON).replace('"region": "liver"}', '"region": "liver",}'), True),
        (json.dumps(MCQ_JSON, ensure_ascii=False).replace(",", "，", 1), True),
        (json.dumps(MCQ_JSON | {"answer": "(b)"}), True),
        (json.dumps(MCQ_JSON | {"answer": "F"}), False),
        (json.dumps(MCQ_JSON | {"answer": ""}), False),
        (json.dumps(MCQ_JSON | {"options": {"A": "x", "B": "y"}}), False),
        (json.dumps(MCQ_JSON | {"thinking": ""}), False),
        ("", False),
        ("I am sorry, I cannot help.", False),
    ],
    ids=[
        "plain",
        "fenced",
        "prose",
        "think",
        "trailing-comma",
        "fullwidth-comma",
        "letter-in-parens",
        "letter-not-an-option",
        "empty-answer",
        "missing-options",
        "empty-thinking",
        "empty",
        "refusal",
    ],
)
def test_mcq_parser(text: str, ok: bool) -> None:
    parse = answer_parser(MCQ)
    if ok:
        assert parse(text)["answer"] in LETTERS
    else:
        with pytest.raises(ParseError):
            parse(text)


def test_truncated_dialogue_keeps_complete_turns() -> None:
    # the schema asks for region and evidence first, so a cut-off answer loses only its last turn
    text = '{"region": "kidney", "evidence": ["The kidney is 10 cm."], "turns": [{"question": "What is shown?", '
    text += '"answer": "A kidney."}, {"question": "How long is it?", "ans'  # cut here, as finish_reason=length does
    value = answer_parser(QA)(text)
    assert value["turns"] == [{"question": "What is shown?", "answer": "A kidney."}]


def dialogue(n: int) -> str:
    turns = [{"question": f"Question {i}?", "answer": f"Answer {i}."} for i in range(n)]
    return json.dumps({"region": "kidney", "evidence": ["The kidney is 10 cm."], "turns": turns})


def test_a_dialogue_has_the_turns_asked_for() -> None:
    # synthesize.turns: 2 was only a request in the prompt; the stand-in answered 3 and the items kept them
    assert len(answer_parser(QA, 2)(dialogue(3))["turns"]) == 2
    assert answer_parser(QA, 2)(dialogue(3))["turns"][1] == {"question": "Question 1?", "answer": "Answer 1."}
    assert len(answer_parser(QA, 2)(dialogue(2))["turns"]) == 2
    with pytest.raises(ParseError, match=r"1 complete turn\(s\); 2 were asked for"):
        answer_parser(QA, 2)(dialogue(1))
    assert len(answer_parser(QA)(dialogue(3))["turns"]) == 3  # the translation pass keeps what it is given


@pytest.mark.parametrize(
    ("order", "reasoning", "content", "expected"),
    [
        (["reasoning_content", "think_tag", "schema"], "from server", "<think>from tag</think>{}", "from server"),
        (["reasoning_content", "think_tag", "schema"], None, "<think>from tag</think>{}", "from tag"),
        (["reasoning_content", "think_tag", "schema"], None, "{}", "from schema"),
        (["schema", "reasoning_content"], "from server", "{}", "from schema"),
    ],
)
def test_thinking_trace_source_order(order: Any, reasoning: str | None, content: str, expected: str) -> None:
    assert thinking_trace({"thinking": "from schema"}, answer(content, reasoning), order) == expected


def test_balance_moves_the_key_and_keeps_every_option() -> None:
    options, letter = balance_options(OPTIONS, "A", "D", "sample-1")
    assert letter == "D" and options["D"] == "Cyst" and sorted(options.values()) == sorted(OPTIONS.values())


def test_answer_letters_are_balanced_over_1000_mcqs() -> None:
    chunks = [
        chunk_unit(Chunk(chunk_id=f"c{i}", doc="d.pdf", page_start=1, page_end=1, text="x" * 300, language="en"), i)
        for i in range(1000)
    ]
    jobs = plan_jobs([MCQ], chunks, [], SynthesizeSettings(tasks=["qa-reasoning"]))
    letters: Counter[str] = Counter()
    generator = Generator(model="m", prompt_file="p", prompt_sha256="s")
    for job in jobs:
        sample = to_sample(
            MCQ,
            job.unit,
            "en",
            answer_parser(MCQ)(json.dumps(MCQ_JSON)),
            answer("{}"),
            generator,
            Usage(),
            thinking_order=["schema"],
            target_letter=job.target_letter,
        )
        assert sample.options is not None and sample.answer is not None
        assert sample.options[sample.answer] == "Cyst"
        letters[sample.answer] += 1
    for letter in LETTERS:
        assert abs(letters[letter] - 200) <= 10, letters


def test_new_kind_needs_only_files(tmp_path: Path) -> None:
    for name in PACKAGE_PROMPTS.iterdir():
        (tmp_path / name.name).write_bytes(name.read_bytes())
    schema = json.loads((PACKAGE_PROMPTS / "qa.schema.json").read_text())
    (tmp_path / "summary.schema.json").write_text(json.dumps(schema))
    for lang in ("zh", "en"):
        (tmp_path / f"summary.{lang}.md").write_text(
            "[system]\nBe brief.\n[user]\nSummarise $n_turns times:\n"
            "<source>\n$source\n</source>\n$outside_rule $language_name"
        )
    task = load_task("summary", tmp_path)
    assert task.unit == "chunk" and "x-remud" not in task.schema
