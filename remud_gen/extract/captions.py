"""What a caption looks like, in English and Chinese: parsing, panel letters, legend splitting, citations.

Pure string functions, table-tested in tests/test_extract_captions.py. Geometry (which caption belongs to which
figure) lives in `remud_gen.extract.assign`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from remud_gen.text.lang import HAN, has_cjk, is_cjk

# \s covers the no-break and typographic spaces journals put after "Figure" (\u00a0, \u2002, \u2009, \u202f).
_SP = r"[\s\u200b]*"
_EN_WORD = r"(?:fig(?:ure)?s?\.?|f\s?i\s?g\s?u\s?r\s?e\s?s?|table|t\s?a\s?b\s?l\s?e)"
_EN = re.compile(
    rf"^{_SP}(?P<word>{_EN_WORD}){_SP}(?P<id>S?\d+(?:[.\-–]\d+)*)(?P<sub>[a-z])?(?P<rest>.*)$", re.I | re.S
)
# OCR reads the dash of "5-12" as the ideograph 一 ("one") as often as not; between digits it is the dash.
_ZH = re.compile(
    rf"^{_SP}(?P<word>[图圖表])\s*(?P<id>[0-9０-９]+(?:\s*[\-－–—一.．·]\s*[0-9０-９]+)*)(?P<sub>[A-Za-z])?(?P<rest>.*)$",
    re.S,
)
# Atlas books title a figure by its section number in a heading bar: "16-2-1 肾脏增大".
_ATLAS = re.compile(
    r"^\s*(?P<id>\d{1,3}(?:\s*[\-－一]\s*\d{1,3}){1,3})(?:\s+|(?=[" + HAN + r"]))(?P<title>\S.{0,80})$", re.S
)
_ZH_SENTENCE_WORDS = ("所示", "显示", "示", "中", "为", "是", "可见", "的", "和", "与", "及")
_LEGEND = re.compile(r"^\s*(?:图解要点|图注|图例|注)\s*[:：]")
_LABEL = re.compile(r"^\s*[(（]?([A-Ha-h])[)）]?[.．]?\s*$")


@dataclass(frozen=True)
class Caption:
    """A parsed caption start: `kind` figure or table, the normalised id and an optional sub-letter."""

    kind: str
    figure_id: str
    sub: str | None
    title: str


def normalise_id(raw: str) -> str:
    """Full-width digits and dashes to ASCII, spaces removed: "3－2" -> "3-2"."""
    s = unicodedata.normalize("NFKC", raw)
    s = re.sub(r"[‐‑‒–—―－]|(?<=\d)\s*一\s*(?=\d)", "-", s).replace("·", ".")
    return re.sub(r"\s+", "", s).strip(".-")


def parse_caption(text: str) -> Caption | None:
    """Parse a block that starts a figure or table caption; None for anything else.

    "Figure 1)." or "Figure 2 shows ..." at a block start are sentences, not captions.
    """
    m = _EN.match(text)
    if m:
        rest, sub = m.group("rest"), m.group("sub")
        if not _en_rest_ok(rest):
            # OCR drops spaces: "Fig.6aEchogenic ..." (panel a) and "Fig.2Simple ..." (no panel).
            if sub and sub.islower() and rest[:1].isupper():
                pass
            elif sub and sub.isupper() and rest[:1].islower() and len(rest) > 2 and " " not in rest[:12]:
                rest, sub = sub + rest, None
            else:
                return None
        kind = "table" if m.group("word").lower().replace(" ", "").startswith("t") else "figure"
        sub = sub.upper() if sub else None
        return Caption(kind, normalise_id(m.group("id")), sub, _strip_sep(rest))
    m = _ZH.match(text)
    if m:
        rest = m.group("rest")
        if not _zh_rest_ok(rest, text):
            return None
        kind = "table" if m.group("word") == "表" else "figure"
        sub = m.group("sub").upper() if m.group("sub") else None
        return Caption(kind, normalise_id(m.group("id")), sub, _strip_sep(rest))
    return None


def _en_rest_ok(rest: str) -> bool:
    if not rest:
        return True
    if rest[0] in ".:|：—–-" and not rest[1:2].isdigit():
        return True
    stripped = rest.lstrip(" \t\n\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u202f")
    if stripped == rest:
        return False  # "Figure 1)" / "Figure 1," / "Figure 1a-like" run-ons
    if not stripped:
        return True
    first = stripped[0]
    return first.isupper() or first in "([[|:—–" or is_cjk(first)


def _zh_rest_ok(rest: str, text: str) -> bool:
    if not rest or rest[0].isspace() or rest[0] in ".．:：、，,|":
        return True
    if rest.startswith(_ZH_SENTENCE_WORDS) or rest[0] in ")）":
        return False
    # OCR drops the space after the id ("图16-2-4肾脏解剖示意图"): a short title is still a caption, even when a
    # legend follows it in the same block.
    title = re.split(r"\s", text.strip(), maxsplit=1)[0]
    last = title == text.strip()  # a full stop may end a caption, but not a title that more text follows
    return len(title) <= 40 and "。" not in (title[:-1] if last else title)


def _strip_sep(rest: str) -> str:
    return rest.strip().lstrip(".:：|—–-").strip()


def starts_caption(text: str) -> bool:
    """True when a line opens a figure/table caption (used to cut blocks before it)."""
    return parse_caption(text) is not None


def parse_atlas_heading(text: str) -> tuple[str, str] | None:
    """("16-2-1", "肾脏增大") for a one-line section-number heading, else None."""
    if "\n" in text.strip():
        return None
    m = _ATLAS.match(text)
    if not m or m.group("title").strip()[:1].isdigit():
        return None
    return normalise_id(m.group("id")), m.group("title").strip()


def is_legend(text: str) -> bool:
    """A legend paragraph printed after the panels ("图解要点：A图为…")."""
    return bool(_LEGEND.match(text))


def panel_label(text: str) -> str | None:
    """The letter of a lone panel label line ("A", "(b)", "C."), else None."""
    m = _LABEL.match(text)
    return m.group(1).upper() if m else None


# Panel markers: "(A)", "(A–C)", "(D, E)", "A图", "图A", and "A," / "A:" at a sentence start.
_EN_MARK = re.compile(r"[(（]([A-Ha-h](?:\s*[,，–\-—]\s*[A-Ha-h])*)[)）]")
_ZH_MARK = re.compile(r"([A-H])图|图([A-H])(?![A-Za-z])")
_START_MARK = re.compile(r"(?:^|(?<=[.;；。:：]))\s*([A-H])\s*[,:：.、，]\s")


def _expand(group: str) -> list[str]:
    letters: list[str] = []
    parts = re.split(r"\s*[,，]\s*", group.upper())
    for part in parts:
        m = re.fullmatch(r"([A-H])\s*[–\-—]\s*([A-H])", part)
        if m:
            letters += [chr(c) for c in range(ord(m.group(1)), ord(m.group(2)) + 1)]
        elif re.fullmatch(r"[A-H]", part):
            letters.append(part)
    return letters


def _markers(text: str) -> list[tuple[int, list[str]]]:
    found: list[tuple[int, list[str]]] = []
    for m in _EN_MARK.finditer(text):
        found.append((m.start(), _expand(m.group(1))))
    for m in _ZH_MARK.finditer(text):
        found.append((m.start(), [m.group(1) or m.group(2)]))
    for m in _START_MARK.finditer(text):
        found.append((m.start(1), [m.group(1)]))
    found.sort()
    return [(pos, letters) for pos, letters in found if letters]


def caption_panels(text: str) -> list[str]:
    """Panel letters a caption or legend names, in order: "(A) ... (B–D) ..." -> ["A", "B", "C", "D"]."""
    seen: list[str] = []
    for _, letters in _markers(text):
        for x in letters:
            if x not in seen:
                seen.append(x)
    return sorted(seen)


def lowercase_panels(text: str) -> bool:
    """True when a caption names its panels in lower case ("(a) ... (b) ...", "Fig. 2b")."""
    marks = [m.group(1) for m in _EN_MARK.finditer(text)]
    return bool(marks) and all(m == m.lower() for m in marks)


def panel_sentences(text: str) -> dict[str, str]:
    """Split a caption or legend so each panel letter gets its own sentence(s).

    Chinese legends are split at "；" / "。" and a sentence goes to the letters it starts with ("A图为…");
    English legends are cut at each "(A)" marker and a segment goes to every letter its marker names.
    """
    out: dict[str, list[str]] = {}
    for line in text.split("\n"):  # "Fig. 6a ..." / "图3-2A ...": a caption of its own panel
        parsed = parse_caption(line)
        if parsed and parsed.sub:
            out.setdefault(parsed.sub, []).append(line.strip())
    if out:
        return {k: " ".join(v) for k, v in out.items()}
    if has_cjk(text):
        for sent in re.split(r"(?<=[；;。])|\n", text):
            s = _LEGEND.sub("", sent).strip()
            head = _markers(s[:8])
            for _, letters in head[:1]:
                for x in letters:
                    out.setdefault(x, []).append(s.rstrip("；;"))
    else:
        marks = _markers(text)
        for i, (pos, letters) in enumerate(marks):
            end = marks[i + 1][0] if i + 1 < len(marks) else len(text)
            seg = text[pos:end].strip().rstrip(",;，；").strip()
            if end == len(text):
                seg = re.split(r"(?<=[.])\s+(?=[A-Z])", seg)[0]
            for x in letters:
                out.setdefault(x, []).append(seg)
    return {k: " ".join(dict.fromkeys(v)) for k, v in out.items()}


_CITE_EN = re.compile(
    r"\b(?:fig(?:ure)?s?\.?|FIG(?:URE)?S?\.?)[\s\u200b]*(\d+(?:[.\-]\d+)*)((?:\s*(?:,|and|&|–|-)\s*\d+)*)", re.I
)
_CITE_ZH = re.compile(r"图\s*([0-9０-９]+(?:\s*[\-－–.．]\s*[0-9０-９]+)*)")


def cited_figures(text: str) -> list[str]:
    """Figure ids cited in running text: "(Fig. 6B,C)" -> ["6"], "如图16-2-1所示" -> ["16-2-1"]."""
    ids: list[str] = []
    for m in _CITE_EN.finditer(text):
        first = normalise_id(m.group(1))
        ids.append(first)
        tail = m.group(2) or ""
        nums = re.findall(r"(\d+)", tail)
        if nums and first.isdigit():
            if re.match(r"\s*[–-]", tail) and len(nums) == 1 and int(nums[0]) - int(first) < 30:
                ids += [str(n) for n in range(int(first) + 1, int(nums[0]) + 1)]
            else:
                ids += nums
    for m in _CITE_ZH.finditer(text):
        ids.append(normalise_id(m.group(1)))
    return list(dict.fromkeys(i for i in ids if i))
