"""Client options: schema in the prompt, reasoning_content, rate limits configured or learned from headers."""

from __future__ import annotations

import asyncio
import email.utils
import time
from typing import Any

import pytest
from local_app import serve

from remud_gen.llm.client import Client, Result
from remud_gen.llm.completion import answer_of
from remud_gen.llm.exchange_errors import APIStatusError, BadResponse, retry_after
from remud_gen.llm.fleet import env_proxy
from remud_gen.llm.parse import parse_json_object
from remud_gen.llm.ratelimit import Bucket, RateLimiter
from remud_gen.llm.request import ChatRequest, Message
from remud_gen.llm.runner import run_requests
from remud_gen.llm.settings import EndpointSettings
from remud_gen.prompts import PACKAGE_PROMPTS, read_text
from remud_gen.stub import BackgroundStub

SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}


def ask(stub: BackgroundStub, **settings: Any) -> Result:
    cfg = EndpointSettings.model_validate({"base_url": stub.base_url, "model": "stand-in", **settings})
    hint = read_text(PACKAGE_PROMPTS / "json_schema_instruction.txt")

    async def go() -> Result:
        client = Client(cfg, None, "k", schema_prompt=hint)
        try:
            req = ChatRequest(
                item="x",
                messages=[Message("user", "<source>The gallbladder wall is thin.</source>")],
                schema=SCHEMA,
                parse=parse_json_object,
            )
            return await client.complete(req)
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_schema_in_the_prompt_for_endpoints_without_response_format() -> None:
    with BackgroundStub() as stub:
        result = ask(stub, structured_output="prompt")
        assert result.ok and result.value["answer"]


def test_reasoning_content_is_kept() -> None:
    with BackgroundStub(reasoning=True) as stub:
        result = ask(stub)
        assert result.ok and result.answer is not None and result.answer.reasoning


@pytest.mark.parametrize(("rpm", "burst"), [(600, 100), (60, 10)])
def test_bucket_allows_a_ten_second_burst_then_paces(rpm: int, burst: int) -> None:
    bucket = Bucket(rpm)
    delays = [bucket.delay_for(1) for _ in range(burst + 5)]
    assert all(d == 0 for d in delays[:burst])
    assert delays[burst] > 0 and delays[-1] == pytest.approx(5 * 60 / rpm, rel=0.05)


def test_limits_are_learned_from_headers_unless_configured() -> None:
    learned = RateLimiter(None, None)
    learned.learn({"x-ratelimit-limit-requests": "500", "x-ratelimit-limit-tokens": "30000"})
    assert learned.requests is not None and learned.requests.rate == pytest.approx(500 / 60)
    assert learned.tokens is not None and learned.tokens.rate == pytest.approx(500)
    fixed = RateLimiter(100, None)
    fixed.learn({"x-ratelimit-limit-requests": "500"})
    assert fixed.requests is not None and fixed.requests.rate == pytest.approx(100 / 60)


def test_the_stub_advertises_limits_the_client_adopts() -> None:
    with BackgroundStub(ratelimit_requests=1200, ratelimit_tokens=900000) as stub:
        cfg = EndpointSettings(base_url=[stub.base_url], model="stand-in")

        async def go() -> RateLimiter:
            client = Client(cfg, None, "k")
            try:
                await client.complete(ChatRequest(item="x", messages=[Message("user", "hello")]))
                return client.limiter
            finally:
                await client.aclose()

        limiter = asyncio.run(go())
        assert limiter.requests is not None and limiter.requests.rate == pytest.approx(20)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after": "Thu, 01 Jan 1970 00:00:00 GMT"}, 0.0),  # a date in the past: go now
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_in_seconds_milliseconds_or_http_date(headers: dict[str, str], expected: float | None) -> None:
    exc = APIStatusError.from_answer(429, headers, b'{"error": {"message": "slow down"}}')
    assert retry_after(exc) == expected


def test_retry_after_as_a_future_http_date() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    exc = APIStatusError.from_answer(429, {"retry-after": when}, b"")
    assert 28 <= (retry_after(exc) or 0) <= 30


@pytest.mark.parametrize(
    ("message", "usage", "content", "tokens"),
    [
        ({"content": [{"type": "text", "text": '{"a":'}, {"type": "text", "text": " 1}"}]}, {}, '{"a": 1}', 0),
        ({"content": None, "reasoning_content": [{"type": "text", "text": "hm"}]}, None, "", 0),
        ({"content": "x"}, {"prompt_tokens": "12", "completion_tokens": None}, "x", 12),
        (None, {"prompt_tokens": "n/a"}, "", 0),
    ],
)
def test_answers_are_read_whatever_shape_the_server_gives_them(
    message: Any, usage: Any, content: str, tokens: int
) -> None:
    answer = answer_of("k", "i", {"choices": [{"message": message}], "usage": usage})
    assert answer.content == content and answer.prompt_tokens == tokens
    if message and "reasoning_content" in message:
        assert answer.reasoning == "hm"


@pytest.mark.parametrize("choices", [["text"], [{"message": "text"}]])
def test_a_choice_that_is_not_an_object_is_a_bad_response(choices: list[Any]) -> None:
    with pytest.raises(BadResponse):
        answer_of("k", "i", {"choices": choices})


REASONING_MODEL_ERRORS = {
    "max_tokens": "Unsupported parameter: 'max_tokens' is not supported with this model. "
    "Use 'max_completion_tokens' instead.",
    "temperature": "Unsupported value: 'temperature' does not support 0.7 with this model. "
    "Only the default (1) value is supported.",
}


@pytest.mark.parametrize(
    ("settings", "stop_hint"),
    [
        ({}, "endpoint.token_limit_field: max_completion_tokens"),
        ({"token_limit_field": "max_completion_tokens"}, "endpoint.temperature and endpoint.top_p to null"),
        ({"token_limit_field": "max_completion_tokens", "temperature": None, "top_p": None}, None),
    ],
)
def test_models_that_take_only_max_completion_tokens_and_default_sampling(
    settings: dict[str, Any], stop_hint: str | None
) -> None:
    """OpenAI's o-series and gpt-5 refuse max_tokens and any temperature: the run stops saying which setting fixes
    it, and with those settings the body carries neither."""
    from aiohttp import web

    bodies: list[dict[str, Any]] = []

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        bodies.append(body)
        for name, message in REASONING_MODEL_ERRORS.items():
            if name in body:
                error = {"message": message, "type": "invalid_request_error", "param": name}
                return web.json_response({"error": error}, status=400)
        content = '{"answer": "thin"}'
        return web.json_response({"choices": [{"message": {"content": content}, "finish_reason": "stop"}]})

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"data": []})

    async def go() -> Any:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", chat)
        app.router.add_get("/v1/models", models)
        async with serve(app) as url:
            cfg = EndpointSettings.model_validate({"base_url": url, "model": "o4-mini", **settings})
            client = Client(cfg, None, "k")
            reqs = [
                ChatRequest(item=f"x{i}", messages=[Message("user", "q")], parse=parse_json_object) for i in range(30)
            ]
            try:
                return await run_requests(client, reqs, lambda r, u: None, total=len(reqs))
            finally:
                await client.aclose()

    stats = asyncio.run(go())
    if stop_hint is None:
        assert stats.ok == 30 and stats.stopped is None
        assert all(
            "max_completion_tokens" in b and not {"max_tokens", "temperature", "top_p"} & b.keys() for b in bodies
        )
    else:
        assert stats.stopped == "endpoint" and stop_hint in stats.stop_reason


@pytest.mark.parametrize(
    ("env", "url", "proxy"),
    [
        ({"HTTP_PROXY": "http://p:3128"}, "http://10.0.0.5:8000/v1", "http://p:3128"),
        ({"HTTP_PROXY": "http://p:3128", "NO_PROXY": "10.0.0.5,localhost"}, "http://10.0.0.5:8000/v1", None),
        ({"HTTP_PROXY": "http://p:3128"}, "https://api.openai.com/v1", None),
        ({"HTTPS_PROXY": "http://p:3128", "NO_PROXY": ".internal"}, "https://api.openai.com/v1", "http://p:3128"),
        ({"ALL_PROXY": "http://p:3128"}, "https://api.openai.com/v1", "http://p:3128"),
        ({}, "https://api.openai.com/v1", None),
    ],
)
def test_the_plain_session_takes_its_proxy_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], url: str, proxy: str | None
) -> None:
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert env_proxy(url) == proxy
