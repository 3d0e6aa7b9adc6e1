"""Reading the chosen letter: every normalisation case, every fallback, and what must stay a parse failure."""

from __future__ import annotations

import pytest

from remud_gen.eval.extract_answer import extract_answer, normalise_choice


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("A", "A"),
        (" A ", "A"),
        ("A.", "A"),  # ReMUD's script counted this as wrong
        ("A。", "A"),
        ("(A)", "A"),
        ("（A）", "A"),
        ("[C]", "C"),
        ("【D】", "D"),
        ("a", "A"),
        ("b.", "B"),
        ("Ａ", "A"),  # full-width letter
        ("（ｂ）", "B"),  # full-width brackets and letter
        ("**B**", "B"),
        ("`E`", "E"),
        ("C:", "C"),
        ("C：", "C"),
        ("E、胆囊", "E"),
        ("A. Anechoic with posterior enhancement", "A"),
        ("B) liver", "B"),
        ("(a) cyst", "A"),
        ("A 肝囊肿", "A"),
        ("A. B-mode shows a cyst", "A"),
        ("答案：C", "C"),
        ("答案：C. 肝囊肿", "C"),
        ("选项D", "D"),
        ("Answer: B", "B"),
        ("The answer is E", "E"),
        ("Option (c)", "C"),
        ("F", "F"),  # a letter that is no option of the question is read, and then scored as wrong
        # no single letter: parse failures
        ("", None),
        ("A, C", None),
        ("A,C", None),
        ("A和C", None),
        ("A or C", None),
        ("AB", None),
        ("a hypoechoic mass", None),
        ("肝囊肿", None),
        ("none of the above", None),
        ("12", None),
    ],
)
def test_normalise_choice(text: str, letter: str | None) -> None:
    assert normalise_choice(text) == letter


@pytest.mark.parametrize(
    ("answer", "letter", "how"),
    [
        ("<think>\nreasoning\n</think>\n\n<answer>B</answer>", "B", "tag"),
        ("<answer> (c) </answer>", "C", "tag"),
        ("<answer>A.</answer>", "A", "tag"),
        ("<ANSWER>d</ANSWER>", "D", "tag"),
        ("<answer>C</answer> then <answer>D</answer>", "C", "tag"),  # the first tag, as ReMUD reads
        ("<think>A looks right</think>\n<answer>E</answer>", "E", "tag"),
        ("<think>x</think>\nThe final choice is <answer>B", "B", "tag"),  # cut off before the closing tag
        ("<answer>肝囊肿</answer>\nAnswer: B", None, "tag"),  # a tag is the answer even when unreadable
        ("<answer>A, B</answer>", None, "tag"),
        ("Reasoning here.\nAnswer: C", "C", "final"),
        ("blah\nAnswer: c.", "C", "final"),
        ("综合分析，答案：D", "D", "final"),
        ("综合分析，答案是B。", "B", "final"),
        ("故选B。", "B", "final"),
        ("So the answer is: **D**", "D", "final"),
        ("Final answer: (e)", "E", "final"),
        ("The correct option is A because the wall is thin.", "A", "final"),
        ("\\boxed{C}", "C", "final"),
        ("First I thought Answer: A. Then: the answer is B", "B", "final"),  # the last one
        ("Answer: B. The answer is a cyst.", "B", "final"),  # the article "a" does not override it
        ("<think>Answer: A</think>\nAnswer: C", "C", "final"),  # letters in the trace do not count
        ("The lesion is anechoic.\n\nB", "B", "lone"),
        ("The lesion is anechoic.\n\n(B)", "B", "lone"),
        ("The lesion is anechoic.\n**c**", "C", "lone"),
        ("x\nＤ。", "D", "lone"),
        ("d", "D", "lone"),
        # parse failures
        ("The answer is a cyst.", None, "none"),
        ("<think>unfinished, A looks right", None, "none"),  # cut off while thinking
        ("I think so", None, "none"),
        ("Step 1: x\n\nSeveral options seem possible; I cannot decide.", None, "none"),
        ("The options are listed below.\nB. Liver cyst", None, "none"),
        ("Options: C. liver", None, "none"),  # "Option" + "s" once read as answer S
        ("Choices: B. kidney\nA. liver", None, "none"),
        ("Answers: D", None, "none"),
        ("", None, "none"),
    ],
)
def test_extract_answer(answer: str, letter: str | None, how: str) -> None:
    found = extract_answer(answer)
    assert (found.letter, found.how) == (letter, how)
    assert found.parsed == (letter is not None)
