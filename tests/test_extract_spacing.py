"""Word spaces the OCR recogniser read but decoded as blank: the insertion rule, and its effect on real pixels."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pymupdf
import pytest

from remud_gen.extract.scanned import analyse_page
from remud_gen.extract.spacing import SPACE_EVIDENCE, restore_spaces
from samplegen import write_sample
from samplegen.rasterize import rasterize_pdf

HIGH = 0.2  # a clear space read by the model
LOW = 0.004  # the most space evidence seen inside an English word


def _line(text: str, gaps: dict[int, float], pitch: int = 3) -> tuple[list[str], list[int], np.ndarray]:
    """Characters of `text` emitted every `pitch` columns, with space probability gaps[i] between char i and i+1."""
    chars = list(text)
    columns = [pitch * i for i in range(len(chars))]
    space = np.zeros(pitch * len(chars))
    for index, probability in gaps.items():
        space[columns[index] + 1] = probability
    return chars, columns, space


@pytest.mark.parametrize(
    ("text", "gaps", "expected"),
    [
        ("ofanormal", {1: HIGH, 2: HIGH}, "of a normal"),  # glued words split where the model saw spaces
        ("kidney", {2: LOW}, "kidney"),  # weak evidence inside a word is not a space
        ("of a", {1: HIGH, 2: HIGH}, "of a"),  # a space already written is never doubled
        ("5.84cm", {0: LOW, 1: LOW, 2: LOW, 3: HIGH}, "5.84 cm"),  # number and unit parted, digits kept
        ("2024;12", {4: HIGH}, "2024; 12"),
        ("kidney.This", {6: 0.05}, "kidney. This"),
        ("wall,a", {4: 0.005}, "wall, a"),  # weaker evidence suffices after punctuation
        ("e.g.5.84", {1: 0.0001, 3: 0.005, 5: 0.0001}, "e.g. 5.84"),
        ("肾脏B超", {0: HIGH, 1: HIGH, 2: HIGH, 3: HIGH}, "肾脏B超"),  # never inside or next to CJK
        ("CDFI显示", {0: LOW, 3: HIGH}, "CDFI显示"),
        ("（a）cyst", {2: HIGH}, "（a）cyst"),  # full-width punctuation is CJK-like
        ("15(I)", {1: HIGH, 2: HIGH, 3: HIGH}, "15 (I)"),  # no space inside brackets or before punctuation
        ("cyst,which", {3: HIGH, 4: HIGH}, "cyst, which"),
        ("a", {}, "a"),
        ("", {}, ""),
    ],
)
def test_restore_spaces(text: str, gaps: dict[int, float], expected: str) -> None:
    chars, columns, space = _line(text, gaps)
    assert restore_spaces(chars, columns, space) == expected


def test_restore_spaces_needs_gap_columns_and_evidence_above_threshold() -> None:
    # Adjacent columns leave no gap to hold a space; evidence exactly at the threshold is not enough.
    assert restore_spaces(["a", "b"], [4, 5], np.full(8, 0.9)) == "ab"
    space = np.zeros(8)
    space[2] = SPACE_EVIDENCE
    assert restore_spaces(["a", "b"], [0, 4], space) == "ab"
    with pytest.raises(ValueError, match="columns"):
        restore_spaces(["a", "b"], [0], space)


def _words(text: str) -> list[str]:
    """Lower-cased tokens with letters, split on white space and stripped of surrounding punctuation."""
    tokens = (re.sub(r"^\W+|\W+$", "", token.lower()) for token in text.split())
    return [token for token in tokens if re.search(r"[a-z]", token)]


def test_english_scanned_page_keeps_word_spaces(tmp_path: Path) -> None:
    """A rasterised English atlas page, OCR'd, gives back the printed words as separate tokens.

    Without restored spaces the recogniser glues most words (7% of this page's words recovered; 100% with them).
    """
    born_digital = next(p for p in write_sample(tmp_path / "sample").pdfs if p.name == "atlas_en.pdf")
    scanned = rasterize_pdf(born_digital, tmp_path / "scanned.pdf")
    page_index = 3  # the shortest page: OCR costs seconds a page
    with pymupdf.open(born_digital) as doc:
        truth = _words(doc[page_index].get_text())
    with pymupdf.open(scanned) as doc:
        page = doc[page_index]
        assert not page.get_text().strip(), "the rasterised copy must have no text layer"
        pix = page.get_pixmap(dpi=200, colorspace=pymupdf.csRGB, alpha=False)
    image = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, 3).copy()
    found = Counter(_words("\n".join(line.text for line in analyse_page(image).lines)))
    recovered = sum(min(count, found[word]) for word, count in Counter(truth).items())
    assert len(truth) > 150
    assert recovered / len(truth) >= 0.9, f"{recovered}/{len(truth)} words recovered: {sorted(found)}"
