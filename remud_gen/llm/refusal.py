"""A server refusing a feature of the request: never retried, the stage stops and names the setting that mends it.

A retry of a refusal is refused again, every time, for every item; a request too long for the model is that item's
own fault, never the setup's. Judged by what the server says, not by its status: llama-cpp-python refuses
``response_format: json_schema`` with a 500.
"""

from __future__ import annotations

import re

from remud_gen.llm.exchange_errors import APIStatusError, is_retryable, whole_message

# What a server says when a request is too long for the model: a fault of that one item, never of the setup.
_TOO_LONG = re.compile(
    r"context (?:length|window|size)|too many tokens|too long|exceeds? (?:the )?(?:context|max)|reduce the length", re.I
)
_REFUSED = re.compile(
    r"not (?:a )?(?:supported|multimodal|permitted|allowed)|unsupported|only supported|does not support|"
    r"input should be|unrecognized|unknown (?:parameter|field)|extra (?:inputs?|fields?)|at most 0",
    re.I,
)
# The request features a server may refuse, and the setting that stops remud-gen sending them (first match wins).
_FEATURES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"response_format|json_schema|json_object|structured output|guided", re.I),
        "set endpoint.structured_output: auto (the probe picks what the endpoint takes) or prompt",
    ),
    (
        re.compile(r"image|multimodal|vision", re.I),
        "this model takes no images: serve a vision model, or leave the vqa tasks out (synthesize.tasks)",
    ),
    (re.compile(r"max_completion_tokens|max_tokens", re.I), "set endpoint.token_limit_field: {other_token_field}"),
    (
        re.compile(r"temperature|top_p", re.I),
        "this model takes only its default sampling: set endpoint.temperature and endpoint.top_p to null",
    ),
    (re.compile(r"\bseed\b", re.I), "set endpoint.seed: null"),
    (
        re.compile(r"continue_final_message|add_generation_prompt", re.I),
        "set eval.budget_forcing.enabled: false",
    ),
)
_NOT_REFUSALS = frozenset({401, 403, 408, 409, 429})  # the key, the rate and the moment, not the request


def refusal(exc: BaseException, token_field: str = "max_tokens") -> str | None:
    """The setting that fixes it, when ``exc`` is the endpoint refusing a feature of the request; else None.

    ``token_field`` is the field that carried the token limit (the fix for its refusal is the other one).
    """
    if not isinstance(exc, APIStatusError) or exc.status_code < 400 or exc.status_code in _NOT_REFUSALS:
        return None
    message = whole_message(exc)
    if _TOO_LONG.search(message) or not _REFUSED.search(message):
        return None
    fix = next((fix for feature, fix in _FEATURES if feature.search(message)), None)
    other = "max_completion_tokens" if token_field == "max_tokens" else "max_tokens"
    return fix.format(other_token_field=other) if fix is not None else None


def worth_retrying(exc: BaseException) -> bool:
    """Retryable by its status or kind (`errors.is_retryable`), unless the server refused a feature of the request."""
    return is_retryable(exc) and refusal(exc) is None
