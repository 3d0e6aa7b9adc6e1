"""Exam mode: the stand-in answers multiple-choice questions right with a known probability.

A stand-in cannot know which option is right, so the test that builds the eval data tells it, in the question:
a marker ``[[exam id=Q key=C]]`` (optionally ``style=tags|final|lone|none``) anywhere in the last user turn.
With ``exam_accuracy = p`` set, such a request is answered with the key when

    digest = blake2b(f"{exam_seed}|{Q}|{seed}|{index}".encode(), digest_size=16).digest()
    int.from_bytes(digest[:8], "big") / 2**64 < p

where ``seed`` is the request's sampling ``seed`` (0 when absent) and ``index`` the choice index (0 unless
n > 1). Otherwise it answers a wrong letter among those the question lists, picked by the digest's last 8
bytes. Whether a sample is right depends only on (exam_seed, Q, seed, index), never on the wording of the
prompt, so a test can count the right answers it expects from the seeds the client sends.

Styles: ``tags`` writes ``<think>..</think>`` then ``<answer>X</answer>`` (the default when the prompt
mentions ``<answer>``); ``final`` ends with "Answer: X" / "答案：X" (the default otherwise); ``lone`` ends
with the letter alone on its line; ``none`` names no letter (a parse failure).

Continuation (budget forcing): when the body sets ``continue_final_message`` and the last message is the
assistant's, the answer continues it (more trace, then the close of the thinking and the answer), as vLLM
does. With ``continue_final_message = False`` in the settings the parameter is refused with OpenAI's 400.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from typing import Any

from remud_gen.stub.compose import Composer
from remud_gen.stub.error_responses import bad_request
from remud_gen.stub.request import ChatRequest
from remud_gen.stub.settings import StubSettings

MARKER_RE = re.compile(r"\[\[exam\s+([^\]]*)\]\]")
STYLES = ("tags", "final", "lone", "none")
_PAIR_RE = re.compile(r"(\w+)=(\S+)")
_OPTION_RE = re.compile(r"(?m)^\s*[(（]?([A-H])[).:：、．）]")
_FINAL = {"zh": "答案：", "en": "Answer: "}
_UNDECIDED = {
    "zh": "以上选项都有一定道理，无法确定。",
    "en": "Several options seem possible; I cannot decide.",
}


@dataclass(frozen=True)
class Marker:
    """What the test wrote into a question: its id, the right letter and how the answer should be written."""

    item: str
    key: str
    style: str | None = None


def find_marker(text: str) -> Marker | None:
    """The exam marker of a question, or None when it has none (or one without an id and a key)."""
    match = MARKER_RE.search(text)
    if match is None:
        return None
    pairs = dict(_PAIR_RE.findall(match.group(1)))
    style = pairs.get("style")
    if "id" not in pairs or "key" not in pairs or (style is not None and style not in STYLES):
        return None
    return Marker(pairs["id"], pairs["key"].upper(), style)


def draw(exam_seed: int, item: str, seed: int, index: int) -> tuple[float, int]:
    """The uniform draw in [0, 1) deciding whether a sample is right, and a number to pick a wrong letter."""
    digest = hashlib.blake2b(f"{exam_seed}|{item}|{seed}|{index}".encode(), digest_size=16).digest()
    return int.from_bytes(digest[:8], "big") / 2**64, int.from_bytes(digest[8:], "big")


def check_extensions(body: dict[str, Any], settings: StubSettings) -> None:
    """Refuse vLLM's continue_final_message as OpenAI does, when the stand-in is told not to support it."""
    if body.get("continue_final_message") and not settings.continue_final_message:
        raise bad_request("Unrecognized request argument supplied: continue_final_message", "continue_final_message")


def exam_answer(req: ChatRequest, settings: StubSettings, index: int) -> str | None:
    """The answer to a marked question in exam mode, or None when exam mode does not apply to the request."""
    if settings.exam_accuracy is None or req.format != "text":
        return None
    marker = find_marker(req.last_user_text)
    if marker is None:
        return None
    seed = req.body.get("seed")
    u, pick = draw(settings.exam_seed, marker.item, seed if isinstance(seed, int) else 0, index)
    letters = list(dict.fromkeys(_OPTION_RE.findall(req.last_user_text))) or list("ABCDE")
    wrong = [letter for letter in letters if letter != marker.key] or ["A" if marker.key != "A" else "B"]
    choice = marker.key if u < settings.exam_accuracy else wrong[pick % len(wrong)]
    question = MARKER_RE.sub("", req.last_user_text)
    composer = Composer(question, random.Random(f"{settings.exam_seed}|{marker.item}|{seed}|{index}"))
    style = marker.style or ("tags" if any("<answer>" in t for t in req.texts) else "final")
    messages = req.body.get("messages") or [{}]
    continuing = bool(req.body.get("continue_final_message")) and messages[-1].get("role") == "assistant"
    return _write(style, composer, choice, continuing)


def _write(style: str, composer: Composer, choice: str, continuing: bool) -> str:
    trace = composer.trace(1, 2) if continuing else composer.trace(2, 3)
    if style == "tags":
        head = trace if continuing else f"<think>\n{trace}"
        return f"{head}\n</think>\n\n<answer>{choice}</answer>"
    if style == "final":
        return f"{trace}\n\n{_FINAL[composer.lang]}{choice}"
    if style == "lone":
        return f"{trace}\n\n{choice}"
    return f"{trace}\n\n{_UNDECIDED[composer.lang]}"
