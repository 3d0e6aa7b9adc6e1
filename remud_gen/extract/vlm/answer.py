"""Reading the boxes out of what a vision model wrote, whatever shape it chose.

Real answers seen from grounding models, all accepted:

- a JSON list of objects with a box under ``bbox_2d`` (Qwen2.5-VL), ``bbox``, ``box_2d`` or ``box`` and an optional
  ``label``; or an object holding such a list (``{"figures": [...]}``), or one such object alone;
- the same inside a fenced code block, after a ``<think>`` block, or between sentences of prose;
- a box as four numbers or as two corner pairs (``[[x1, y1], [x2, y2]]``);
- Qwen's special tokens, ``<|object_ref_start|>label<|object_ref_end|><|box_start|>(x1,y1),(x2,y2)<|box_end|>``,
  and the plain ``<box>(x1,y1),(x2,y2)</box>`` form;
- a list cut off by the token limit: the complete objects before the cut are kept.

An answer that names no box is accepted as "no figures" only when it says so in JSON (``[]``, ``{"figures": []}``);
anything else raises ValueError, so the client repairs or re-asks.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from remud_gen.llm.parse import split_think

_BOX_KEYS = ("bbox_2d", "bbox", "box_2d", "box", "coordinates")
_LABEL_KEYS = ("label", "category", "type", "name")
_FENCE = re.compile(r"```[A-Za-z]*\s*(.*?)(?:```|$)", re.S)
_NUM = r"\s*(-?\d+(?:\.\d+)?)\s*"
_PAIRS = rf"\(?{_NUM},{_NUM}\)?\s*,?\s*\(?{_NUM},{_NUM}\)?"
_TOKENS = re.compile(
    r"(?:<\|object_ref_start\|>(?P<label>.*?)<\|object_ref_end\|>\s*)?"
    rf"(?:<\|box_start\|>|<box>)\s*\[?\[?{_PAIRS}\]?\]?\s*(?:<\|box_end\|>|</box>)",
    re.S,
)
_OBJECT = re.compile(r"\{[^{}]*\}")


@dataclass(frozen=True)
class RawBox:
    """One box as the model wrote it, in its own coordinate frame (x0, y0, x1, y1), and its label."""

    box: tuple[float, float, float, float]
    label: str = ""


def parse_boxes(text: str) -> list[RawBox]:
    """The boxes in a model's answer (see the module docstring for the shapes).

    Raises:
        ValueError: the answer holds neither a box nor an explicit empty JSON list.
    """
    _, body = split_think(text.strip())
    tokens = [RawBox(_four(m.groups()[1:]), (m.group("label") or "").strip()) for m in _TOKENS.finditer(body)]
    if tokens:
        return tokens
    # Cut off, or prose between loose objects: every complete object that holds a box.
    loose = [b for m in _OBJECT.finditer(body) for b in _walk(_loads(m.group(0)))[0]]
    fenced = _FENCE.search(body)
    for candidate in [fenced.group(1), body] if fenced else [body]:
        value = _first_json(candidate)
        if value is not None:
            boxes, empty = _walk(value)
            if boxes or empty:
                return loose if len(loose) > len(boxes) else boxes
    if loose:
        return loose
    raise ValueError(f"no boxes in the answer: {body[:120]!r}")


def _first_json(text: str) -> Any:
    decoder = json.JSONDecoder()
    for i, ch in enumerate(text):
        if ch in "[{":
            try:
                return decoder.raw_decode(text, i)[0]
            except ValueError:
                continue
    return None


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _walk(value: Any) -> tuple[list[RawBox], bool]:
    """Boxes found in a decoded JSON value, and whether the value is an explicit empty answer."""
    if isinstance(value, list):
        if not value:
            return [], True
        if _is_box(value):
            return [RawBox(_four(value))], False
        return [b for v in value for b in _walk(v)[0]], False
    if isinstance(value, dict):
        for key in _BOX_KEYS:
            if key in value and _is_box(value[key]):
                label = next((str(value[k]) for k in _LABEL_KEYS if isinstance(value.get(k), str)), "")
                return [RawBox(_four(value[key]), label)], False
        found: list[RawBox] = []
        empty = False
        for v in value.values():
            if isinstance(v, list | dict):
                more, none = _walk(v)
                found += more
                empty = empty or none
        return found, empty and not found
    return [], False


def _is_box(value: Any) -> bool:
    flat = _flatten(value)
    return flat is not None and len(flat) == 4


def _flatten(value: Any) -> list[float] | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return [float(value)] if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return [number] if math.isfinite(number) else None
    if isinstance(value, list) and 1 <= len(value) <= 4:
        out: list[float] = []
        for v in value:
            part = _flatten(v)
            if part is None:
                return None
            out += part
        return out
    return None


def _four(value: Any) -> tuple[float, float, float, float]:
    flat = _flatten(list(value)) or []
    x0, y0, x1, y1 = (float(v) for v in flat)
    return (x0, y0, x1, y1)
