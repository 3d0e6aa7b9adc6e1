"""Source text handling for the stand-in: where the material is, how it splits, what language it is.

The stand-in answers from the request's own words so that downstream grounding checks see realistic,
verifiable text. Prompts put material between `<source>` tags; without them the last user message is the material.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from remud_gen.text.lang import WIDE, count_wide, language_of

# PDF line wraps put whitespace between two ideographs; keeping it would break verbatim evidence checks.
_CJK_GAP_RE = re.compile(rf"(?<=[{WIDE}])\s+(?=[{WIDE}])")
_ZH_SPLIT_RE = re.compile(r"(?<=[。！？；!?])")
_EN_SPLIT_RE = re.compile(r"(?<=[.!?])\s+(?=[\"“(\[]?[A-Z0-9])")
# A figure mention in a generated item points at pixels the reader of a dataset row cannot see.
_FIGURE_RE = re.compile(
    r"\b(?:fig(?:ure)?s?|plates?|f ?i ?g ?u ?r ?e)\.?\s*\(?\d|\bfig\.|\bpanel\s+[A-H]\b"
    r"|图\s*[\d一二三四五六七八九十]|[如见附]图|图注",
    re.IGNORECASE,
)
_FIGURE_STRIP_RE = re.compile(
    r"[(（]\s*(?:see\s+)?(?:fig(?:ure)?s?|图)\.?\s*[\d][\w.\-–,、 ]*[)）]"
    r"|(?:as\s+shown\s+in\s+|see\s+)?\bfig(?:ure)?s?\.?\s*\d[\w.\-–]*,?"
    r"|[如见]?图\s*\d[\w.\-–]*(?:所示)?[，,]?",
    re.IGNORECASE,
)
_ABBREVIATIONS = frozenset(
    {
        *("fig.", "figs.", "e.g.", "i.e.", "al.", "vs.", "no.", "nos.", "dr.", "approx.", "cf.", "ref.", "ca."),
        *("st.", "p.", "pp.", "vol.", "ed.", "eds.", "resp."),
    }
)
_MIN_LEN = {"zh": 4, "en": 12}
_FALLBACK = {"zh": "原文未提供可用的文字内容。", "en": "The source provided no usable text."}


@dataclass(frozen=True)
class Sentence:
    """One sentence of source material; `verbatim` is False when a figure mention had to be cut out of it."""

    text: str
    verbatim: bool = True


def source_text(texts: list[str], last_user_text: str) -> str:
    """Return the material an answer should be grounded in.

    Args:
        texts: every text part of the request, system and user messages alike, in order.
        last_user_text: the text of the last user message, the fallback material.

    Returns:
        The contents of all `<source>` blocks joined by newlines, else `last_user_text`.
    """
    blocks = [block for text in texts for block in _blocks(text)]
    return "\n".join(blocks) if blocks else last_user_text


def _blocks(text: str) -> list[str]:
    # str.find instead of a lazy DOTALL regex: prompts carry kilobytes of source and this runs per request.
    out: list[str] = []
    start = text.find("<source>")
    while start >= 0:
        end = text.find("</source>", start)
        if end < 0:
            break
        block = text[start + 8 : end].strip()
        if block:
            out.append(block)
        start = text.find("<source>", end)
    return out


def normalise(text: str) -> str:
    """Collapse whitespace runs to one space and drop the spaces that line wraps put between ideographs."""
    flat = " ".join(text.split())
    return (flat if flat.isascii() else _CJK_GAP_RE.sub("", flat)).strip()


def mentions_figure(text: str) -> bool:
    """True when `text` points at a numbered figure (English or Chinese)."""
    # The regex tries every position; plain substring tests rule most texts out far faster.
    low = text.lower()
    if not any(word in low for word in ("fig", "f i g", "plate", "panel")) and "图" not in text:
        return False
    return _FIGURE_RE.search(text) is not None


@dataclass(frozen=True)
class Material:
    """Source text prepared for quoting: its language, sentences, verbatim sentences and lower-cased whole."""

    lang: str
    sentences: tuple[Sentence, ...]
    verbatim: tuple[str, ...]
    lowered: str


@lru_cache(maxsize=512)
def analyse(text: str) -> Material:
    """Prepare `text` for quoting; cached because prompts for one chunk (ask, answer, judge) share a source.

    Never returns an empty sentence list: a source with nothing usable gives one fixed sentence saying so.
    """
    lang = language_of(text)
    found = sentences(text, lang)
    if not found:
        flat = normalise(text)
        found = [Sentence(flat if flat and not mentions_figure(flat) else _FALLBACK[lang])]
    verbatim = tuple(s.text for s in found if s.verbatim) or tuple(s.text for s in found)
    joiner = "" if lang == "zh" else " "
    return Material(lang, tuple(found), verbatim, joiner.join(s.text for s in found).lower())


def sentences(text: str, language: str) -> list[Sentence]:
    """Split source material into clean sentences, with figure mentions cut out or the sentence dropped.

    Args:
        text: raw material, possibly with PDF line breaks.
        language: "zh" or "en"; decides the sentence boundaries and the minimum useful length.

    Returns:
        Sentences in source order, deduplicated; never a sentence that mentions a figure.
    """
    out: list[Sentence] = []
    seen: set[str] = set()
    min_len = _MIN_LEN.get(language, 12)
    # One search over the whole text spares a figure search per sentence in the common, figure-free case.
    check = mentions_figure(text)
    for paragraph in re.split(r"\n\s*\n", text):
        flat = normalise(paragraph)
        if not flat:
            continue
        pieces = _ZH_SPLIT_RE.split(flat) if language == "zh" else _merge_abbreviations(_EN_SPLIT_RE.split(flat))
        for piece in pieces:
            sentence = _clean(piece.strip()) if check else Sentence(piece.strip())
            if sentence is None or len(sentence.text) < min_len or sentence.text in seen:
                continue
            seen.add(sentence.text)
            out.append(sentence)
    return out


def _merge_abbreviations(pieces: list[str]) -> list[str]:
    # "Fig. 3" and "e.g. B-mode" end a piece with a period that does not end the sentence.
    out: list[str] = []
    for piece in pieces:
        if out and out[-1].rsplit(" ", 1)[-1].lstrip("([\"'“").lower() in _ABBREVIATIONS:
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def _clean(piece: str) -> Sentence | None:
    if not piece:
        return None
    if not mentions_figure(piece):
        return Sentence(piece)
    stripped = normalise(_FIGURE_STRIP_RE.sub("", piece)).lstrip("，,;； ")
    stripped = re.sub(r"\s+([.,;:!?])", r"\1", stripped)
    if not stripped or mentions_figure(stripped):
        return None
    stripped = stripped[0].upper() + stripped[1:]
    return Sentence(stripped, verbatim=False)


def count_tokens(text: str) -> int:
    """Estimate tokens as BPE tokenizers land on average: one per CJK character, one per 4 other characters."""
    if text.isascii():
        return math.ceil(len(text) / 4)
    wide = count_wide(text)  # CJK punctuation and full-width forms cost a token each, like the ideographs
    return wide + math.ceil((len(text) - wide) / 4)


def cut_to_tokens(text: str, budget: int) -> str:
    """Return the longest prefix of `text` whose estimated token count is within `budget`."""
    if budget <= 0:
        return ""
    if count_tokens(text) <= budget:
        return text
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count_tokens(text[:mid]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo]
