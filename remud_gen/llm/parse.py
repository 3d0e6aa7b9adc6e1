"""Turning what a model wrote into JSON: fences, prose, `<think>` blocks, trailing commas, full-width punctuation.

Repair is local and cheap; the client re-asks the model only when this gives up.
"""

from __future__ import annotations

import json
import re
from typing import Any

import json_repair

from remud_gen.llm.exchange_errors import is_json

_THINK = re.compile(r"<think>(.*?)(?:</think>|$)", re.S)
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)(?:```|$)", re.S)
_FULLWIDTH = str.maketrans({"｛": "{", "｝": "}", "［": "[", "］": "]", "＂": '"'})
_STRUCTURAL_FULLWIDTH = re.compile(r"(?<=[\"\]}\d])\s*[，](?=\s*[\"\[{])|(?<=\")\s*[：](?=\s*[\"\[{\dtfn-])")


class ParseError(ValueError):
    """The text holds no JSON value of the expected shape, even after repair."""


def split_think(text: str) -> tuple[str | None, str]:
    """Split a leading ``<think>…</think>`` block from the rest; returns (thinking or None, rest)."""
    m = _THINK.search(text)
    if not m or text[: m.start()].strip():
        return None, text
    return m.group(1).strip(), text[m.end() :].strip()


def parse_json_object(text: str) -> dict[str, Any]:
    """Return the JSON object in ``text``, repairing the usual ways models break it.

    Raises:
        ParseError: nothing that looks like a JSON object could be recovered.
    """
    _, body = split_think(text.strip())
    fenced = _FENCE.search(body)
    if fenced:
        body = fenced.group(1)
    start = body.find("{")
    if start < 0:
        start = body.find("｛")
    if start < 0:
        raise ParseError("no JSON object in the answer")
    body = body[start:]
    end = body.rfind("}")
    candidate = body[: end + 1] if end > 0 else body
    try:
        value = json.loads(candidate)
    except ValueError:
        fixed = _STRUCTURAL_FULLWIDTH.sub(lambda m: "," if "，" in m.group(0) else ":", candidate)
        fixed = fixed.translate(_FULLWIDTH) if not is_json(fixed) else fixed
        value = json_repair.loads(fixed) if not is_json(fixed) else json.loads(fixed)
    if not isinstance(value, dict) or not value:
        raise ParseError("the answer is not a JSON object")
    return value
