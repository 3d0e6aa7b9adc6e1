"""A 200 chat completion read into the `Answer` the journal keeps, leniently: servers differ in what they leave out."""

from __future__ import annotations

from typing import Any

from remud_gen.llm.exchange_errors import BadResponse
from remud_gen.llm.journal import Answer


def answer_of(key: str, item: str, body: dict[str, Any]) -> Answer:
    """The first choice of a 200 chat completion, read leniently: servers differ in what they leave out.

    Raises:
        BadResponse: the choice or its message is not an object (retried like a broken body).
    """
    choices = body.get("choices")
    choice = (choices[0] if isinstance(choices, list) and choices else None) or {}
    message = (choice.get("message") if isinstance(choice, dict) else None) or {}
    if not isinstance(choice, dict) or not isinstance(message, dict):
        raise BadResponse("the endpoint answered 200 with a chat completion whose first choice is not an object")
    usage = _object(body.get("usage"))
    details = _object(usage.get("prompt_tokens_details"))
    return Answer(
        key=key,
        item=item,
        content=_text(message.get("content")),
        reasoning=_text(message.get("reasoning_content") or message.get("reasoning")) or None,
        finish_reason=str(choice.get("finish_reason") or "stop"),
        prompt_tokens=_count(usage.get("prompt_tokens")),
        completion_tokens=_count(usage.get("completion_tokens")),
        cached_tokens=_count(details.get("cached_tokens")),
    )


def _text(content: Any) -> str:
    """Message text: a string, or a list of content parts (some servers answer with `[{"type": "text", ...}]`)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = (p if isinstance(p, str) else p.get("text") if isinstance(p, dict) else None for p in content)
        return "".join(p for p in parts if isinstance(p, str))
    return str(content)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0
