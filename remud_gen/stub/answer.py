"""Turn a validated chat request into an OpenAI chat.completion body, deterministically.

The answer depends only on the request body and the settings seed, so a retried request gets the same answer
and a test can compare two runs byte for byte. Content faults (truncate, empty, malformed) are applied here;
transport faults live in the server.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

from remud_gen.stub.boxes import box_answer
from remud_gen.stub.compose import Composer
from remud_gen.stub.error_responses import bad_request
from remud_gen.stub.exam import check_extensions, exam_answer
from remud_gen.stub.fill import fill_with
from remud_gen.stub.request import ChatRequest
from remud_gen.stub.schema import schema_from_example
from remud_gen.stub.settings import StubSettings
from remud_gen.stub.text import count_tokens, cut_to_tokens, source_text

FINGERPRINT = "remud-gen-stand-in"
_OPTION_RE = re.compile(r"(?m)^\s*[(（]?([A-H])[).:：、．）]")
_SOURCE_BLOCK_RE = re.compile(r"<source>.*?</source>", re.DOTALL | re.IGNORECASE)
_DEFAULT_OBJECT: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "evidence": {"type": "array", "items": {"type": "string"}}},
    "required": ["answer", "evidence"],
}


def seed_of(digest: bytes, *salt: object) -> int:
    """A 64-bit seed from a request digest mixed with the settings seed, a choice index or an attempt number."""
    h = hashlib.blake2b(digest, digest_size=8)
    h.update(repr(salt).encode())
    return int.from_bytes(h.digest(), "big")


def complete(req: ChatRequest, settings: StubSettings, fault: str | None = None) -> dict[str, Any]:
    """Answer a chat request with `req.n` choices.

    Args:
        req: the validated request.
        settings: decides the model id, the seed, whether `reasoning_content` is returned and the score bias.
        fault: a content fault to apply to every choice ("truncate", "empty", "malformed"), or None.

    Returns:
        The chat.completion JSON body.

    Raises:
        ApiError: 400 when the requested JSON schema cannot be filled (bad `$ref`, runaway recursion).
    """
    check_extensions(req.body, settings)
    source = source_text(req.texts, req.last_user_text)
    choices: list[dict[str, Any]] = []
    completion_tokens = reasoning_tokens = 0
    for index in range(req.n):
        composer = Composer(source, random.Random(seed_of(req.digest, settings.seed, index)))
        exam = exam_answer(req, settings, index)  # None unless exam mode applies (see exam.py)
        content = exam if exam is not None else _content(req, composer, settings)
        reasoning = composer.trace(2, 3) if settings.reasoning else None
        content, reasoning, finish = _limit(content, reasoning, req.max_tokens)
        content, finish = _damage(content, finish, fault, req.wants_json)
        message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
        if reasoning is not None:
            message["reasoning_content"] = reasoning
            reasoning_tokens += count_tokens(reasoning)
        completion_tokens += count_tokens(content)
        choices.append({"index": index, "message": message, "logprobs": None, "finish_reason": finish})
    completion_tokens += reasoning_tokens
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": settings.model,
        "system_fingerprint": FINGERPRINT,
        "choices": choices,
        "usage": {
            "prompt_tokens": req.prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": req.prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
        },
    }


def _content(req: ChatRequest, composer: Composer, settings: StubSettings) -> str:
    boxes = box_answer(req, settings)  # a grounding request: boxes from the pixels (see boxes.py)
    if boxes is not None:
        return boxes
    prompted = _prompted_schema(req.texts) if req.format == "text" else None
    if req.format == "text" and prompted is None:
        return _text(req, composer)
    schema = prompted or (req.schema if req.schema is not None else _example_schema(req.texts))
    try:
        value = fill_with(_asked_turns(schema, req.texts), composer, settings.high_bias)
    except (ValueError, TypeError) as exc:
        raise bad_request(f"response_format schema cannot be satisfied: {exc}", "response_format") from exc
    return json.dumps(value, ensure_ascii=False)


# "Write a dialogue of 2 question-and-answer turns" / "编写 2 轮问答对话" (prompts/qa.*.md, vqa.*.md)
_TURNS_RE = re.compile(r"dialogue of (\d+) question|(\d+)\s*轮问答")


def _asked_turns(schema: dict[str, Any], texts: list[str]) -> dict[str, Any]:
    """The schema with its "turns" array pinned to the length the prompt asks for, as a real model writes it."""
    props = schema.get("properties") if isinstance(schema, dict) else None
    turns = props.get("turns") if isinstance(props, dict) else None
    match = next((m for t in texts if (m := _TURNS_RE.search(t))), None)
    if not isinstance(props, dict) or not isinstance(turns, dict) or turns.get("type") != "array" or match is None:
        return schema
    n = int(match.group(1) or match.group(2))
    n = min(max(n, int(turns.get("minItems", 0))), int(turns.get("maxItems", n)))
    return {**schema, "properties": {**props, "turns": {**turns, "minItems": n, "maxItems": n}}}


def _text(req: ChatRequest, composer: Composer) -> str:
    instructions = "\n".join(req.texts)
    parts = []
    if "<think>" in instructions:
        parts.append(f"<think>\n{composer.trace()}\n</think>")
    parts.append(composer.passage(composer.rng.randint(2, 3)))
    if "<answer>" in instructions:
        letters = list(dict.fromkeys(_OPTION_RE.findall(req.last_user_text)))
        parts.append(f"<answer>{composer.rng.choice(letters if len(letters) >= 2 else 'ABCD')}</answer>")
    return "\n\n".join(parts)


def _json_objects(texts: list[str]) -> Iterator[dict[str, Any]]:
    """JSON objects written in the prompt outside <source> blocks (the first 20 candidate braces of each text)."""
    decoder = json.JSONDecoder()
    for text in texts:
        text = _SOURCE_BLOCK_RE.sub("", text)
        for tries, match in enumerate(re.finditer(r"\{", text)):
            if tries >= 20:
                break
            try:
                value, _ = decoder.raw_decode(text, match.start())
            except ValueError:
                continue
            if isinstance(value, dict) and value:
                yield value


def _prompted_schema(texts: list[str]) -> dict[str, Any] | None:
    """A JSON schema written into the prompt (clients whose endpoint rejects response_format do that)."""
    return next(
        (v for v in _json_objects(texts) if v.get("type") == "object" and isinstance(v.get("properties"), dict)), None
    )


def _example_schema(texts: list[str]) -> dict[str, Any]:
    # json_object mode: a real model copies the shape of the example object the prompt shows, if any.
    example = next(_json_objects(texts), None)
    return schema_from_example(example) if example is not None else _DEFAULT_OBJECT


def _limit(content: str, reasoning: str | None, max_tokens: int | None) -> tuple[str, str | None, str]:
    if max_tokens is None:
        return content, reasoning, "stop"
    spent = count_tokens(reasoning or "")
    # A reasoning model spends its budget on the trace first, exactly like vLLM's reasoning parsers report it.
    if reasoning is not None and spent >= max_tokens:
        return "", cut_to_tokens(reasoning, max_tokens), "length"
    budget = max_tokens - spent
    if count_tokens(content) > budget:
        return cut_to_tokens(content, budget), reasoning, "length"
    return content, reasoning, "stop"


def _damage(content: str, finish: str, fault: str | None, wants_json: bool) -> tuple[str, str]:
    if fault == "truncate":
        return content[: max(1, len(content) // 2)], "length"
    if fault == "empty":
        return "", "stop"
    if fault == "malformed" and wants_json:
        # A strict prefix of a JSON object or array is never valid JSON; a bare number prefix can be, hence "{".
        broken = content[: max(1, len(content) * 3 // 5)]
        return (broken if _invalid_json(broken) else broken + "{"), finish
    return content, finish


def _invalid_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return True
    return False
