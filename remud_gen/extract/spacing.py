"""Word spaces in OCR text that the recogniser read but did not write.

RapidOCR's bundled PP-OCR recogniser (Chinese + English) is a CTC model: each of its output columns (one per 8
pixels of a 48-pixel-high line image) holds a probability for every character, plus "blank" and a space class. On
English text it often lets blank win the columns between two words, so a line comes out as
"Longitudinalsonogramofanormalkidney". The space class still rises in those columns, though: measured on a
rasterised English atlas (4 pages, ~7,300 letter pairs), its highest probability between two characters exceeded
0.01 at 98% of word boundaries and never inside a word (at most 0.004 there). The width of the gap in columns is a
much weaker cue (glyph widths vary as much as a space is wide: 60% of boundaries at 0.3% false splits), so the
space evidence is used on its own, located by the columns at which CTC decoding emitted each character.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from remud_gen.text.lang import is_wide

# Highest space probability between two characters above which a space was printed there: 2.5 times the largest
# value seen inside a word, and below 98% of the values seen at word boundaries.
SPACE_EVIDENCE = 0.01
# The same after sentence punctuation, where a narrow glyph shares the gap's columns and the evidence is weaker:
# 0.0055 and up at the 104 word boundaries measured after , ; : . but at most 0.0001 inside "5.84" or "e.g.".
PUNCTUATION_EVIDENCE = 0.002
_PUNCTUATION = frozenset(",;:.!?")

# English never sets a space inside brackets or before closing punctuation, whatever the model saw there (it reads
# one in the loose "15( I)" of Chinese running heads).
_NO_SPACE_AFTER = frozenset("([{")
_NO_SPACE_BEFORE = frozenset(")]},.;:!?%")


def restore_spaces(
    chars: Sequence[str],
    columns: Sequence[int],
    space: Sequence[float] | np.ndarray,
    threshold: float = SPACE_EVIDENCE,
    after_punctuation: float = PUNCTUATION_EVIDENCE,
) -> str:
    """Join recognised characters, putting back the spaces the model saw but decoded as blank.

    A space goes between two narrow (non-CJK) characters when the space probability somewhere in the columns
    strictly between them exceeds `threshold`. Nothing is inserted next to a CJK or full-width character, next to
    a space the model already wrote, after an opening bracket, before closing punctuation, or between characters
    in adjacent columns.

    Args:
        chars: the decoded characters, in order (spaces included).
        columns: the CTC column at which each character was emitted, ascending; same length as `chars`.
        space: probability of the space class in every column of the line.
        threshold: space probability above which a space is inserted.
        after_punctuation: the same, after one of , ; : . ! ? (except between digits).

    Returns:
        The line's text with the restored spaces.
    """
    if len(chars) != len(columns):
        raise ValueError(f"{len(chars)} characters but {len(columns)} columns")
    if not chars:
        return ""
    evidence = np.asarray(space, dtype=np.float64)
    out = [chars[0]]
    for index in range(1, len(chars)):
        left, right = chars[index - 1], chars[index]
        if not (
            left.isspace()
            or right.isspace()
            or is_wide(left)
            or is_wide(right)
            or left in _NO_SPACE_AFTER
            or right in _NO_SPACE_BEFORE
        ):
            gap = evidence[columns[index - 1] + 1 : columns[index]]
            # A point or comma between digits is a decimal or thousands separator, not the end of a clause.
            decimal = index >= 2 and chars[index - 2].isdigit() and right.isdigit()
            limit = after_punctuation if left in _PUNCTUATION and not decimal else threshold
            if gap.size and float(gap.max()) > limit:
                out.append(" ")
        out.append(right)
    return "".join(out)
