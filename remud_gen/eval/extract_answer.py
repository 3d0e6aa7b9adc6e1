"""The option letter a model chose, read from its answer as ReMUD scores it, without its script's pitfalls.

Order: the first ``<answer>(.*?)</answer>`` (an unclosed ``<answer>`` at the very end also counts); when there
is no tag, outside the thinking trace, the last "Answer: X" / "答案：X" / ``\\boxed{X}``; else a letter alone
on the last line. The letter is normalised: "A.", "(A)", "【A】", "a", "Ａ", "A. option text" and "答案：A"
all read as "A"; "A, C" reads as no single answer. ReMUD's script compared the raw tag content, so "A." or
" A" counted as wrong.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

How = Literal["tag", "final", "lone", "none"]

_TAG_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
_OPEN_TAG_RE = re.compile(r"<answer>((?:(?!</?answer>).)*)\Z", re.DOTALL | re.IGNORECASE)
# An English label is a whole word: "Options: C. liver" names no answer, and its "s" is no option S.
_LABEL = (
    r"(?<![A-Za-z])(?:the\s+)?(?:(?:final\s+answer|correct\s+(?:answer|option|choice)|best\s+(?:answer|option)|answer"
    r"|option|choice)(?![A-Za-z])|正确答案|最终答案|答案|正确选项|选项|应选|故选|选)"
)
_LABEL_RE = re.compile(rf"^{_LABEL}\s*(?:is|would\s+be|should\s+be|为|是|应为|应该是)?\s*:?\s*", re.IGNORECASE)
_FINAL_RE = re.compile(
    rf"(?:{_LABEL}\s*(?:is|would\s+be|should\s+be|为|是|应为|应该是)?\s*:?|\\boxed\{{)"
    r"\s*[*_]*\s*[(\[【]?\s*([A-Za-z])(?![A-Za-z])(?=([^\n]*))",
    re.IGNORECASE,
)
_CHOICE_RE = re.compile(r"^[(\[【<]?\s*([A-Za-z])\s*([)\]】>]?)(?:(\s*[.。、:,;-]\s*|\s+)(.*))?\Z", re.DOTALL)
_MORE_LETTERS_RE = re.compile(r"^(?:\s*(?:[,、/&;]|and|or|和|或|及|与)?\s*[A-Z](?![A-Za-z]))+[\s.。]*\Z")
_LONE_RE = re.compile(r"^[(\[【]?\s*([A-Za-z])\s*[)\]】]?\s*[.。]?\Z")
_DELIMITERS = ".。、:,;)]】>-}"
_WRAPPING = "*_`\"'“”‘’ \t\r\n"


@dataclass(frozen=True)
class Extracted:
    """The letter read from an answer (None: a parse failure), where it was found, and the text read."""

    letter: str | None
    how: How
    found: str = ""

    @property
    def parsed(self) -> bool:
        return self.letter is not None


def normalise_choice(text: str) -> str | None:
    """The single option letter a short answer names, upper-case; None when it names none or several.

    Example:
        >>> normalise_choice("（ｂ）"), normalise_choice("答案：C. 肝囊肿"), normalise_choice("A, C")
        ('B', 'C', None)
    """
    s = unicodedata.normalize("NFKC", text).strip(_WRAPPING)
    s = _LABEL_RE.sub("", s).strip(_WRAPPING)
    match = _CHOICE_RE.match(s)
    if match is None:
        return None
    letter, closed, delimiter, rest = (
        match.group(1),
        match.group(2),
        match.group(3),
        (match.group(4) or "").strip(),
    )
    if rest:
        plain_space = not closed and not any(ch in _DELIMITERS for ch in delimiter or "")
        if plain_space and (letter.islower() or rest[:1].islower()):
            return None  # "a hypoechoic mass" is an article, not option A
        if _MORE_LETTERS_RE.match(rest):
            return None  # "A, C": several options
    return letter.upper()


def extract_answer(text: str) -> Extracted:
    """Read the chosen option letter from a model's whole answer (see the module docstring for the order).

    Args:
        text: the answer as the model wrote it, thinking trace included.

    Returns:
        The letter (upper-case, not yet checked against the options), how it was found, and the text read.
    """
    tag = _TAG_RE.search(text) or _OPEN_TAG_RE.search(text)
    if tag is not None:
        content = tag.group(1).strip()
        return Extracted(normalise_choice(content), "tag", content[:200])
    body = _outside_thinking(unicodedata.normalize("NFKC", text))
    final: Extracted | None = None
    for match in _FINAL_RE.finditer(body):
        letter, after = match.group(1), match.group(2).strip(_WRAPPING)
        # a lower-case letter must stand alone ("answer: b."), or "the answer is a cyst" would read as A
        if letter.isupper() or not after or after[0] in _DELIMITERS:
            final = Extracted(letter.upper(), "final", match.group(0).strip()[:200])
    if final is not None:
        return final
    lines = [line.strip(_WRAPPING) for line in body.splitlines() if line.strip(_WRAPPING)]
    if lines:
        lone = _LONE_RE.match(lines[-1])
        if lone is not None:
            return Extracted(lone.group(1).upper(), "lone", lines[-1])
    return Extracted(None, "none", "")


def _outside_thinking(text: str) -> str:
    if "</think>" in text:
        return text.rsplit("</think>", 1)[1]
    if "<think>" in text:
        return ""  # cut off while thinking: a letter in an unfinished trace is not an answer
    return text
