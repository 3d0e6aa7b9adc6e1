"""What a CJK character is, and what language a text is in: one definition for every stage.

A *CJK character* is a Han ideograph (the unified block, extension A, the compatibility ideographs and the
supplementary planes): what counts as Chinese when a share of the text is measured. A *wide* character is written
without spaces around it: the ideographs, and the CJK radicals, punctuation, kana and full-width forms beside them.
A *Latin letter* is a letter of the Latin alphabet, accents included.

A text is Chinese ("zh") when at least `ZH_SHARE` of its letters (CJK + Latin) are CJK; a textbook in Chinese quotes
English terms and abbreviations, an English one rarely a Chinese word.
"""

from __future__ import annotations

import re
from typing import Literal

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
WIDE = "\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u31a0-\u31ff" + HAN + "\ufe30-\ufe4f\uff00-\uffef"
LATIN = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
ZH_SHARE = 0.15

_HAN_RUN = re.compile(f"[{HAN}]+")
_HAN_ONE = re.compile(f"[{HAN}]")
_WIDE_ONE = re.compile(f"[{WIDE}]")
_LATIN_RUN = re.compile(f"[{LATIN}]+")


def is_cjk(ch: str) -> bool:
    """True for a Han ideograph."""
    return _HAN_ONE.fullmatch(ch) is not None


def is_wide(ch: str) -> bool:
    """True for a character written without spaces between words: ideographs, CJK punctuation, full-width forms."""
    return _WIDE_ONE.fullmatch(ch) is not None


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds any Han ideograph."""
    return not text.isascii() and _HAN_ONE.search(text) is not None


def count_cjk(text: str) -> int:
    """The number of Han ideographs in ``text`` (runs are matched, not characters: long texts stay fast)."""
    return 0 if text.isascii() else sum(map(len, _HAN_RUN.findall(text)))


def count_wide(text: str) -> int:
    """The number of wide characters in ``text``."""
    return 0 if text.isascii() else len(_WIDE_ONE.findall(text))


def letters(text: str) -> tuple[int, int]:
    """(CJK characters, Latin letters) in ``text``."""
    return count_cjk(text), sum(map(len, _LATIN_RUN.findall(text)))


def cjk_share(text: str) -> tuple[float, int]:
    """The share of CJK characters among the letters of ``text``, and how many letters were counted."""
    cjk, latin = letters(text)
    total = cjk + latin
    return (cjk / total if total else 0.0), total


def language_by_counts(cjk: int, latin: int) -> Literal["zh", "en"]:
    """zh when at least `ZH_SHARE` of the letters are CJK (for counts summed over many texts)."""
    return "zh" if cjk > 0 and cjk >= ZH_SHARE * (cjk + latin) else "en"


def language_of(text: str) -> Literal["zh", "en"]:
    """zh when at least `ZH_SHARE` of the letters of ``text`` are CJK, else en."""
    return language_by_counts(*letters(text))
