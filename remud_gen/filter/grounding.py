"""Is an item grounded? Its quoted evidence must be found in the exact source it was generated from."""

from __future__ import annotations

import unicodedata

from remud_gen.filter.settings import GroundingSettings
from remud_gen.records import Sample


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PZC")


def _grams(text: str, n: int = 3) -> set[str]:
    return {text[i : i + n] for i in range(max(1, len(text) - n + 1))}


def quote_found(quote: str, source_norm: str, source_grams: set[str], min_match: float) -> bool:
    """A quote matches when it appears verbatim (after normalising) or most of its 3-grams do."""
    q = _norm(quote)
    if not q:
        return False
    if q in source_norm:
        return True
    grams = _grams(q)
    return len(grams & source_grams) / len(grams) >= min_match


def grounding_problem(sample: Sample, source: str, settings: GroundingSettings) -> str | None:
    """None when the item is grounded, else a reason such as ``evidence_not_in_source: <quote>``."""
    if not settings.enabled:
        return None
    quotes = [q for q in sample.evidence if q.strip()]
    if not quotes:
        return "no_evidence: the item quotes no source text"
    source_norm = _norm(source)
    grams = _grams(source_norm)
    missing = [q for q in quotes if not quote_found(q, source_norm, grams, settings.min_quote_match)]
    if len(quotes) - len(missing) < settings.min_quotes_found * len(quotes):
        return f"evidence_not_in_source: {missing[0][:80]}"
    return None
