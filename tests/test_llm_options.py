"""Client options: schema in the prompt, reasoning_content, rate limits configured or learned from headers."""

from __future__ import annotations

import asyncio
import email.utils
import time
from typing import Any

import pytest

from remud_gen.llm.client import Client, Result
from remud_gen.llm.errors import APIStatusError, retry_after
from remud_gen.llm.parse import parse_json_object
from remud_gen.llm.ratelimit import Bucket, RateLimiter
from remud_gen.llm.request import ChatRequest, Message
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
