"""A re-ask: the request asked again after an answer that was cut off or did not parse, even after local repair.

Each re-ask is a variant of the request with its own journal key, so what was paid for is kept and a later run walks
the journaled re-asks before it sends anything (`Client.from_journal`).
"""

from __future__ import annotations

from remud_gen.llm.request import ChatRequest
from remud_gen.llm.result import Result
from remud_gen.llm.settings import EndpointSettings

# A re-ask at temperature 0 is the same question asked the same way: a deterministic server gives the same answer back.
REASK_TEMPERATURE = 0.7
LEVELS = 64  # journaled re-asks walked at most (each run adds at most max_reasks + 1 of them)


def reask_variant(req: ChatRequest, level: int, last: Result | None, settings: EndpointSettings) -> ChatRequest:
    """The request asked again: another seed, some temperature if it had none, more room if it was cut off."""
    params = dict(req.params)
    params["seed"] = int(params.get("seed", 0) or 0) + 1000 * level
    if settings.temperature is not None and not params.get("temperature", settings.temperature):
        params["temperature"] = REASK_TEMPERATURE
    if last is not None and last.answer is not None and last.answer.finish_reason == "length":
        params["max_tokens"] = int(params.get("max_tokens", settings.max_tokens)) * 2
    return ChatRequest(
        item=req.item,
        messages=req.messages,
        schema=req.schema,
        schema_name=req.schema_name,
        prompt_version=req.prompt_version,
        params=params,
        parse=req.parse,
        meta=req.meta,
        cut_is_failure=req.cut_is_failure,
    )
