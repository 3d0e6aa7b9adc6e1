"""Re-asks: a question asked again is asked differently, and a cut-off answer is never taken for a whole one."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from local_app import serve

from remud_gen.filter.judge import parse_scores
from remud_gen.llm.client import Client, Result
from remud_gen.llm.request import ChatRequest, Message
from remud_gen.llm.settings import EndpointSettings

JUDGE_SCHEMA = {"type": "object", "properties": {"faithfulness": {"type": "integer"}}}
WHOLE = (
    '{"faithfulness": 5, "image_text_consistency": 4, "medical_correctness": 5, "reasoning_validity": 4, '
    '"clarity": 5, "rationale": "Every statement is in the source."}'
)


def judge(answers: list[tuple[str, str]], **settings: Any) -> tuple[Result, list[dict[str, Any]]]:
    """Ask one judge question of a server that gives ``answers`` (content, finish_reason) in turn."""
    bodies: list[dict[str, Any]] = []

    async def chat(request: web.Request) -> web.Response:
        bodies.append(await request.json())
        content, finish = answers[min(len(bodies), len(answers)) - 1]
        usage = {"prompt_tokens": 50, "completion_tokens": 40}
        choice = {"message": {"role": "assistant", "content": content}, "finish_reason": finish}
        return web.json_response({"choices": [choice], "usage": usage})

    async def go() -> Result:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", chat)
        async with serve(app) as url:
            cfg = EndpointSettings.model_validate({"base_url": url, "model": "judge", **settings})
            client = Client(cfg, None, "k")
            req = ChatRequest(
                item="judge:x",
                messages=[Message("user", "Score this item.")],
                schema=JUDGE_SCHEMA,
                params={"temperature": 0.0, "max_tokens": 512},  # the judge's own settings
                parse=parse_scores,
            )
            try:
                return await client.complete(req)
            finally:
                await client.aclose()

    return asyncio.run(go()), bodies


def test_a_judge_reask_is_not_the_same_question_at_temperature_0() -> None:
    result, bodies = judge([("I would rate it highly.", "stop"), (WHOLE, "stop")], max_reasks=1)
    assert result.ok and len(bodies) == 2
    assert bodies[0]["temperature"] == 0.0
    assert bodies[1]["temperature"] > 0, "a deterministic server gives the same answer to the same question"
    assert bodies[1]["seed"] != bodies[0]["seed"]


def test_a_truncated_judge_answer_is_a_failure_not_a_score() -> None:
    cut = WHOLE[: WHOLE.index('"rationale"') + 20]  # the scores are all there; the rationale is cut off
    result, bodies = judge([(cut, "length")], max_reasks=0)
    assert not result.ok and result.error == "truncated" and result.value is None
    result, bodies = judge([(cut, "length"), (WHOLE, "stop")], max_reasks=1)
    assert result.ok and result.value["rationale"] == "Every statement is in the source."
    assert bodies[1]["max_tokens"] == 2 * bodies[0]["max_tokens"]


def test_no_temperature_is_sent_to_a_model_that_takes_none() -> None:
    result, bodies = judge([("no json", "stop"), (WHOLE, "stop")], max_reasks=1, temperature=None, top_p=None)
    assert result.ok and all("temperature" not in b for b in bodies)
