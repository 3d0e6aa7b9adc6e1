"""Numbers, booleans and patterned strings for the schema filler, inside the schema's bounds."""

from __future__ import annotations

import math
import random
import re
from typing import Any

# Ranges this small are rating scales (1..5, 0..10): a judge backed by the stand-in should keep most items.
_SCALE_SPAN = 10


def integer(s: dict[str, Any], rng: random.Random, high_bias: float) -> int:
    """An integer within minimum/maximum (inclusive or exclusive) and multipleOf; rating scales lean high."""
    lo, hi = bounds(s, 1)
    step = max(1, int(_num(s.get("multipleOf")) or 1))
    low, high = -(-math.ceil(lo) // step) * step, math.floor(hi) // step * step
    if high < low:
        raise ValueError(f"no integer fits minimum {lo:g}, maximum {hi:g}, multipleOf {step}")
    if 1 <= (high - low) // step <= _SCALE_SPAN and rng.random() < high_bias:
        return rng.choice((high - step, high))
    return rng.randrange(low, high + 1, step)


def number(s: dict[str, Any], rng: random.Random, high_bias: float) -> float:
    """A number within the schema's bounds, in the top 30% of the range with probability `high_bias`."""
    lo, hi = bounds(s, 1e-6)
    if hi < lo:
        raise ValueError(f"no number fits minimum {lo:g}, maximum {hi:g}")
    if rng.random() < high_bias:
        lo += 0.7 * (hi - lo)
    return min(hi, max(lo, round(rng.uniform(lo, hi), 6)))


def boolean(negative: bool, rng: random.Random, high_bias: float) -> bool:
    """True with probability `high_bias`, or False with it for a field that flags a problem."""
    return (rng.random() < high_bias) != negative


def bounds(s: dict[str, Any], eps: float) -> tuple[float, float]:
    """The closed [low, high] range a schema allows, with exclusive bounds moved in by `eps`."""
    lo, hi = _num(s.get("minimum")), _num(s.get("maximum"))
    xlo, xhi = s.get("exclusiveMinimum"), s.get("exclusiveMaximum")
    # Draft 4 spells exclusivity as a boolean next to minimum/maximum; later drafts as a number.
    if xlo is True and lo is not None:
        lo += eps
    elif (x := _num(xlo)) is not None:
        lo = x + eps if lo is None else max(lo, x + eps)
    if xhi is True and hi is not None:
        hi -= eps
    elif (x := _num(xhi)) is not None:
        hi = x - eps if hi is None else min(hi, x - eps)
    if lo is None:
        return (0.0, 10.0) if hi is None else (hi - 10, hi)
    return (lo, lo + 10) if hi is None else (lo, hi)


def match_pattern(pattern: str, text: str) -> str:
    """`text` if it matches `pattern`, else the first of A-E, 0-9 that does (e.g. for "^[A-E]$"), else `text`."""
    try:
        regex = re.compile(pattern)
    except re.error:
        return text
    for candidate in (text, *"ABCDE", *"0123456789", text.lower(), text.upper()):
        if regex.search(candidate):
            return candidate
    return text


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
