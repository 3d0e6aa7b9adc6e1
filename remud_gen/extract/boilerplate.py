"""Text that must not become QA material: reference lists, acknowledgements, licences, contents pages, bare tables.

A model asked to write questions from a chunk of citations or a CC-BY licence writes questions about citations and
licences; the grounding checks then pass them, because the answer really is in the source. So these paragraphs are
left out of the text chunks (figure captions and citing paragraphs are unaffected). Each check returns the reason, so
callers and tests can say why a paragraph went.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from remud_gen.text.lang import has_cjk

if TYPE_CHECKING:
    from remud_gen.extract.chunks import Para

# Sections whose every paragraph is apparatus rather than content, in English and Chinese.
_BACK_MATTER = re.compile(
    r"^\W*(?:\d+(?:\.\d+)*\.?\s*)?(?:references?|bibliography|literature cited|works cited|acknowledge?ments?"
    r"|funding(?: information| statement)?|conflicts? of interests?|competing interests?|declarations?(?: of .*)?"
    r"|author(?:s'?|'s)? contributions?|data availability(?: statement)?|institutional review board(?: statement)?"
    r"|informed consent(?: statement)?|ethics (?:approval|statement)|supplementary materials?|abbreviations"
    r"|correspondence|additional information|(?:table of )?contents"
    r"|参考文献|致\s*谢|基金(?:项目)?|利益冲突(?:声明)?|作者贡献|目\s*录|版权)\W*$",
    re.IGNORECASE,
)
# A paragraph that opens with one of those as a run-in label ("Funding: This work was ...").
_RUN_IN = re.compile(
    r"^\W*(?:acknowledge?ments?|funding|conflicts? of interests?|competing interests?|author contributions"
    r"|data availability statement|institutional review board statement|informed consent statement"
    r"|supplementary materials|abbreviations|correspondence|基金项目|利益冲突|作者贡献|通信作者|通讯作者)\s*[:：]",
    re.IGNORECASE,
)
# Marks of a bibliography entry: "2019;40(6):925-931", "Proc. IEEE 2019, 108, 11–29", "[CrossRef]", DOIs. Not "et al.",
# which body text of a review uses on every line.
_CITATION = re.compile(
    r"\d{4}\s*[;,]\s*\d+\s*(?:\(\d+\))?\s*[:,]\s*\d+|\[(?:CrossRef|PubMed|Google Scholar)\]|doi\.org|\bdoi:"
    r"|\[J\]|\[M\]|\bpp\.\s*\d|arXiv:\d",
    re.IGNORECASE,
)
# Publishing boilerplate that journals print into the first page, often read into the body text.
_LICENCE = re.compile(
    r"creativecommons|licenses/by|\blicensee\b|open access this article|publisher[’']s note|©|\bcopyright\b"
    r"|all rights reserved|^\W*(?:received|accepted|published|revised|citation|academic editor)\s*:|版权所有|本书如有",
    re.IGNORECASE,
)
# A journal's running citation line read into the middle of a sentence: "J. Imaging 2022, 8, 140. https://doi.org/...",
# "Zhou et al. Cardiovasc Ultrasound (2021) 19:29 https://doi.org/...", or a bare DOI link.
_RUNNING_CITATION = re.compile(
    r"(?:(?:[A-Z][\w.]*\s){1,6}(?:(?:19|20)\d{2},\s*\d+,\s*\d+\.|\((?:19|20)\d{2}\)\s*\d+:\d+)\s*)?"
    r"https?://(?:dx\.)?doi\.org/\S+\s?"
)
# A contents line: a title, a leader of dots or spaces, a page number.
_CONTENTS_LINE = re.compile(r"(?:\.{3,}|…{2,}|·{3,}|—{3,})\s*\d{1,4}\b")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])\s*")
_NUMBER = re.compile(r"^[\d.,%±:;()+\-–/×x<>=]+$")


def apparatus_reason(para: Para) -> str | None:
    """Why this paragraph is apparatus rather than content, or None to keep it."""
    if any(_BACK_MATTER.match(heading.strip()) for heading in para.section):
        return "back matter"
    text = para.text.strip()
    if _RUN_IN.match(text):
        return "back matter"
    if len(_CONTENTS_LINE.findall(text)) >= 3:
        return "contents"
    if len(_CITATION.findall(text)) >= max(3, len(text) // 250):
        return "references"
    if _mostly_numbers(text):
        return "table"
    return None


def strip_boilerplate(text: str) -> str:
    """Drop running citation lines and the sentences that are licence or publishing boilerplate; keep the rest."""
    text = _RUNNING_CITATION.sub("", text).strip()
    if not _LICENCE.search(text):
        return text
    kept = [s for s in _SENTENCE.split(text) if not _LICENCE.search(s)]
    joiner = "" if has_cjk(text) else " "
    return joiner.join(kept).strip()


# What states a licence (not merely publishing history): the statement a dataset card reports for its sources.
_LICENCE_STATEMENT = re.compile(
    r"creativecommons|licen[cs]ed?\b|\bCC[ -]BY\b|open access|©|\bcopyright\b|all rights reserved|版权所有|许可协议",
    re.IGNORECASE,
)


def licence_statement(paras: Iterable[Para]) -> str | None:
    """The first sentence that states the document's licence or copyright, shortened; None when none does."""
    for para in paras:
        if not _LICENCE_STATEMENT.search(para.text):
            continue
        for sentence in _SENTENCE.split(para.text):
            if _LICENCE_STATEMENT.search(sentence):
                return " ".join(sentence.split())[:200]
    return None


def content_paragraphs(paras: Iterable[Para]) -> Iterator[Para]:
    """The paragraphs worth asking questions about, with licence sentences cut out of them."""
    for para in paras:
        if apparatus_reason(para):
            continue
        text = strip_boilerplate(para.text)
        if text:
            yield para if text == para.text else replace(para, text=text)


def _mostly_numbers(text: str) -> bool:
    """A flattened table: many tokens are numbers (space-separated tokens, so Chinese prose never trips it)."""
    tokens = text.split()
    if len(tokens) < 12:
        return False
    return sum(1 for t in tokens if _NUMBER.match(t)) / len(tokens) >= 0.35
