"""What MuPDF says about a damaged PDF, in words a user understands.

MuPDF reports what it repairs or skips (a rebuilt cross-reference table, a garbled content stream, corrupt compressed
data) as diagnostics that PyMuPDF prints on stdout, hundreds of lines for one fuzzed file, some of them binary.
They are kept off stdout instead (`quiet`), collected per file (`drain`), and told as one warning (`damage_note`) or
as the reason a file could not be read (`unreadable`).
"""

from __future__ import annotations

import re

import pymupdf

FIX = "; re-save it from a PDF viewer or get a complete copy"
_CODE = re.compile(r"^code=\d+:\s*")
# (what the diagnostic says, what it means for the user), first match wins
_KINDS = (
    (re.compile(r"(?i)xref|startxref|repair|trailer|endobj|object number|'obj' keyword"), "broken file structure"),
    (re.compile(r"(?i)page tree|kids|cannot find page|claims to have"), "broken page tree"),
    (re.compile(r"(?i)content stream|unknown keyword|syntax error in (array|dict|string)"), "garbled page content"),
    (re.compile(r"(?i)zlib|flate|lzw|jbig2|jpx|jpeg|ccitt|dct|decode|image|stream"), "corrupt compressed data"),
    (re.compile(r"(?i)font|glyph|cmap|encoding"), "broken fonts"),
    (re.compile(r"(?i)colou?r ?space|icc"), "broken colours"),
)


def quiet() -> None:
    """Keep MuPDF's diagnostics off stdout and start collecting a new file's."""
    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)
    pymupdf.TOOLS.reset_mupdf_warnings()


def drain(*, keep: bool = False) -> list[str]:
    """The distinct diagnostics MuPDF gave since `quiet` (printable text only); forgotten unless ``keep``."""
    seen: dict[str, None] = {}
    for line in pymupdf.TOOLS.mupdf_warnings(reset=not keep).splitlines():
        text = "".join(c for c in line if c.isprintable()).strip()[:160]
        if text and not text.startswith("... repeated"):
            seen[text] = None
    return list(seen)


def damage_note(diagnostics: list[str]) -> str | None:
    """One warning for a file MuPDF had to repair or partly skip; None when it said nothing."""
    if not diagnostics:
        return None
    kinds = dict.fromkeys(_kind(d) for d in diagnostics)
    telling = _telling(diagnostics) or diagnostics
    example = "; ".join(f"'{d}'" for d in telling[:2])
    more = f" and {len(diagnostics) - 2} more" if len(diagnostics) > 2 else ""
    return (
        f"damaged PDF, read as far as possible ({', '.join(kinds)}); the PDF reader said {example}{more}; "
        "what it could not read is missing from the output"
    )


def unreadable(exc: BaseException, diagnostics: list[str]) -> str:
    """Why a PDF (or a page) could not be read: MuPDF's own diagnostics first, then its exception's words."""
    said = _CODE.sub("", str(exc).strip().splitlines()[0] if str(exc).strip() else "")
    if said.startswith("Failed to open") or not said or "proxy of <" in said:
        said = ""  # PyMuPDF's wrapper words: the path again, or an object's repr
    words = _telling(diagnostics)[:2]
    if said and said not in words:
        words.append(said)
    return "; ".join(words[:3]) or type(exc).__name__


def _telling(diagnostics: list[str]) -> list[str]:
    """The diagnostics that say what is wrong, not what MuPDF does about it."""
    return [d for d in diagnostics if not d.lower().startswith(("trying to repair", "repairing"))]


def _kind(diagnostic: str) -> str:
    for pattern, meaning in _KINDS:
        if pattern.search(diagnostic):
            return meaning
    return "other damage"


def failed(exc: BaseException) -> str:
    """Why a file's extraction stopped on an exception nothing else caught: damage when MuPDF raised it."""
    if type(exc).__module__.startswith("pymupdf"):
        return f"not a readable PDF: damaged, extraction stopped ({unreadable(exc, drain())}){FIX}"
    return f"could not be extracted ({type(exc).__name__}: {exc}; a bug: please report it)"
