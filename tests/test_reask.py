"""Re-asks: a question asked again is asked differently, and a cut-off answer is never taken for a whole one."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from local_app import serve

from remud_gen.filter.judge import Source, judge_requests, load_prompts
from remud_gen.filter.judge_settings import JudgeSettings
from remud_gen.llm.client import Client, Result
from remud_gen.llm.settings import EndpointSettings
from remud_gen.prompts import PACKAGE_PROMPTS
from remud_gen.records import Generator, Sample, SourceRef, Turn

SOURCE = Source(text="The gallbladder wall is under 3 mm thick in a fasting adult.", image=None)
SAMPLE = Sample(
    sample_id="s1",
    kind="qa",
    language="en",
    turns=[Turn(role="user", text="How thick is the gallbladder wall?"), Turn(role="assistant", text="Under 3 mm.")],
    source=SourceRef(doc="book.pdf", page=1, chunk_id="c1"),
    generator=Generator(model="m", prompt_file="qa.en.md", prompt_sha256="0" * 64),
)
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

    req = next(judge_requests([SAMPLE], {"s1": SOURCE}, load_prompts(PACKAGE_PROMPTS), JudgeSettings()))

    async def go() -> Result:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", chat)
        async with serve(app) as url:
            cfg = EndpointSettings.model_validate({"base_url": url, "model": "judge", **settings})
            client = Client(cfg, None, "k")
            try:
                return await client.complete(req)
            finally:
                await client.aclose()

    return asyncio.run(go()), bodies


def test_a_judge_reask_is_not_the_same_question_at_temperature_0() -> None:
    result, bodies = judge([("I would rate it highly.", "stop"), (WHOLE, "stop")], max_reasks=1)
    assert result.ok and len(bodies) == 2
    assert bodies[0]["temperature"] == 0.0  # the judge's own setting
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
