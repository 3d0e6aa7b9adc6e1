"""A server that answers one request at a time (llama-cpp-python's does): the client stops queueing past timeout_s."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from local_app import serve

from remud_gen.llm.client import Client, Result
from remud_gen.llm.request import ChatRequest, Message
from remud_gen.llm.runner import RunStats, run_requests
from remud_gen.llm.settings import EndpointSettings

ANSWER_S = 0.05


def run_against_a_serial_server(n: int, **settings: Any) -> tuple[list[Result], RunStats, int]:
    """``n`` requests to a server that answers one at a time, each in ANSWER_S; returns what the server worked on."""
    lock = asyncio.Lock()
    worked = {"n": 0}

    async def chat(request: web.Request) -> web.Response:
        await request.read()
        async with lock:  # like llama-cpp-python: one at a time, and an abandoned request is still worked on
            worked["n"] += 1
            await asyncio.sleep(ANSWER_S)
        choice = {"message": {"role": "assistant", "content": "an answer"}, "finish_reason": "stop"}
        return web.json_response({"choices": [choice], "usage": {"prompt_tokens": 9, "completion_tokens": 2}})

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"data": []})

    async def go() -> tuple[list[Result], RunStats]:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", chat)
        app.router.add_get("/v1/models", models)
        results: list[Result] = []
        async with serve(app) as url:
            cfg = EndpointSettings.model_validate({"base_url": url, "model": "m", **settings})
            client = Client(cfg, None, "k")
            reqs = [ChatRequest(item=f"x{i}", messages=[Message("user", f"question {i}")]) for i in range(n)]
            try:
                stats = await run_requests(client, reqs, lambda r, u: results.append(r), total=n)
            finally:
                await client.aclose()
            async with lock:  # what the server still had queued
                pass
        return results, stats

    results, stats = asyncio.run(go())
    return results, stats, worked["n"]


def test_timeouts_narrow_what_is_in_flight_to_what_the_server_answers() -> None:
    # 24 requests at once, 0.05 s each one after the other: those queued past 0.25 s time out. Sent again 24 wide, the
    # retries queue behind the abandoned copies and time out in turn; narrowed, they are answered.
    settings = {"concurrency": 32, "timeout_s": 0.25, "backoff_base_s": 0.02, "backoff_max_s": 0.05, "max_retries": 6}
    results, stats, worked = run_against_a_serial_server(24, **settings)
    assert all(r.ok for r in results) and len(results) == 24
    assert stats.retries > 0, "the first wave did time out"
    # narrowed at once, a request is worked on about twice (its abandoned first copy, then its answer); the wide
    # retry waves of before worked on each up to seven times, and still ran out of retries
    assert worked <= 3 * 24
