"""What a field's name says about the value a model would write there.

A real model reads `evidence`, `thinking` or `question` and writes a quote, a trace or a question; the stand-in
does the same so downstream checks (verbatim evidence, question marks, judge scores) see realistic values.
"""

from __future__ import annotations

from functools import lru_cache

USER_ROLES = ("user", "human")
ASSISTANT_ROLES = ("assistant", "gpt")
_THINKING = ("thinking", "reasoning", "rationale", "chain_of_thought", "explanation", "analysis")
# Boolean fields that flag a problem: a judge backed by the stand-in should mostly answer "no problem".
_NEGATIVE = (
    *("outside", "halluc", "contradict", "error", "unsupported", "mention", "leak", "refus"),
    *("unanswer", "ambig", "reject", "drop", "invalid", "unsafe", "figure"),
)
# Chinese names of the English labels a schema enum is likely to use (the body regions of records.REGIONS).
_ZH_ALIASES: dict[str, tuple[str, ...]] = {
    "breast": ("乳腺", "乳房"),
    "thyroid": ("甲状腺",),
    "liver": ("肝",),
    "biliary": ("胆",),
    "pancreas": ("胰",),
    "spleen": ("脾",),
    "kidney": ("肾",),
    "urinary": ("膀胱", "输尿管", "泌尿"),
    "gynaecology": ("子宫", "卵巢", "妇科"),
    "obstetrics": ("胎儿", "妊娠", "孕", "产科"),
    "heart": ("心脏", "心肌", "心室", "心房", "瓣膜"),
    "vascular": ("血管", "动脉", "静脉"),
    "musculoskeletal": ("肌腱", "肌肉", "关节", "骨"),
    "superficial organs": ("浅表", "淋巴结", "涎腺", "腮腺", "阴囊", "睾丸"),
    "brain": ("颅", "脑"),
}


@lru_cache(maxsize=1024)
def hint(name: str) -> str | None:
    """The kind of value a field name asks for: evidence, thinking, question, options, answer, language or None."""
    key = name.lower()
    if "evidence" in key or key in ("quotes", "citations", "support"):
        return "evidence"
    if any(w in key for w in _THINKING):
        return "thinking"
    if "question" in key or key in ("q", "query", "stem", "prompt"):
        return "question"
    if key in ("options", "choices"):
        return "options"
    if key in ("answer", "correct", "correct_answer", "label", "choice"):
        return "answer"
    if key in ("language", "lang"):
        return "language"
    return None


@lru_cache(maxsize=1024)
def is_negative(name: str) -> bool:
    """True for a boolean field that flags a problem (e.g. `uses_outside_knowledge`, `mentions_figure`)."""
    key = name.lower()
    return any(w in key for w in _NEGATIVE)


def mentions(label: object, lowered_source: str) -> int:
    """How often an enum label (or its Chinese name) occurs in the lower-cased source; 0 for short labels."""
    if not isinstance(label, str) or len(label) < 3:
        return 0
    terms = (label.lower(), *_ZH_ALIASES.get(label.lower(), ()))
    return sum(lowered_source.count(term) for term in terms)
