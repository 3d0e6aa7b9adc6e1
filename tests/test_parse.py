"""The answer parser over the ways models break JSON."""

from __future__ import annotations

import pytest

from remud_gen.llm.parse import ParseError, parse_json_object, split_think

GOOD = {"question": "What is shown?", "answer": "A cyst."}


@pytest.mark.parametrize(
    "text",
    [
        '{"question": "What is shown?", "answer": "A cyst."}',
        '```json\n{"question": "What is shown?", "answer": "A cyst."}\n```',
        'Sure! Here is the JSON:\n{"question": "What is shown?", "answer": "A cyst."}\nHope it helps.',
        '{"question": "What is shown?", "answer": "A cyst.",}',
        '<think>The user wants JSON.</think>\n{"question": "What is shown?", "answer": "A cyst."}',
        '｛"question": "What is shown?", "answer": "A cyst."｝',
        '{"question"："What is shown?"，"answer"："A cyst."}',
    ],
    ids=["plain", "fenced", "prose", "trailing-comma", "think-first", "fullwidth-braces", "fullwidth-punct"],
)
def test_repairs(text: str) -> None:
    assert parse_json_object(text) == GOOD


def test_truncated_array_keeps_complete_items() -> None:
    value = parse_json_object('{"turns": [{"question": "q1?", "answer": "a1"}, {"question": "q2?", "ans')
    assert value["turns"][0] == {"question": "q1?", "answer": "a1"}


def test_chinese_quotes_inside_strings_survive() -> None:
    value = parse_json_object('{"answer": "肾脏呈“低回声”改变"}')
    assert value["answer"] == "肾脏呈“低回声”改变"


@pytest.mark.parametrize("text", ["", "I cannot answer that.", "[1, 2, 3]", "{}"])
def test_gives_up(text: str) -> None:
    with pytest.raises(ParseError):
        parse_json_object(text)


def test_split_think() -> None:
    assert split_think("<think>a b</think> rest") == ("a b", "rest")
    assert split_think("no think here") == (None, "no think here")
    assert split_think("text first <think>x</think>") == (None, "text first <think>x</think>")
