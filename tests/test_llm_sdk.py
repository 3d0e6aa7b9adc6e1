"""The SDK client's chat shortcut: the server must see what the stock openai SDK would send, with its timeouts."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import openai
import pytest
from aiohttp import web
from local_app import serve
from openai._utils._json import openapi_dumps

from remud_gen.llm.sdk import ChatSDK, make_sdk

BODY = {"model": "m", "messages": [{"role": "user", "content": "Größe der Niere? ✓"}], "temperature": 0.5, "seed": 1}
Seen = list[tuple[str, str, list[tuple[str, str]], bytes]]


@asynccontextmanager
async def server(reply: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> AsyncIterator[tuple[str, Seen]]:
    """A local endpoint that records every request (method, path, headers in order, body) and answers with ``reply``."""
    seen: Seen = []

    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append((request.method, request.path_qs, list(request.headers.items()), await request.read()))
        return await reply(request)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handle)
    async with serve(app) as url:
        yield url, seen


async def answer(request: web.Request) -> web.Response:
    return web.json_response({"choices": [{"message": {"content": "ok"}}]}, headers={"Set-Cookie": "lb=a1; Path=/"})


def clients(url: str, timeout: float = 5.0) -> tuple[openai.AsyncOpenAI, ChatSDK]:
    kw: dict[str, Any] = {"base_url": url, "api_key": "sk-test", "max_retries": 0, "timeout": timeout}
    stock = openai.AsyncOpenAI(http_client=openai.DefaultAioHttpClient(timeout=timeout), **kw)
    return stock, make_sdk(url, "sk-test", concurrency=8, timeout_s=timeout)


def test_chat_requests_go_out_exactly_as_the_stock_sdk_sends_them() -> None:
    async def go() -> Seen:
        async with server(answer) as (url, seen):
            stock, lean = clients(url)
            for sdk in (stock, lean):
                for key in ("k1", "k2"):  # the second request reuses what the first one built, cookie included
                    if sdk is stock:
                        await sdk.post(
                            "/chat/completions", body=BODY, cast_to=httpx2.Response, options={"idempotency_key": key}
                        )
                    else:
                        content, _ = await lean.send_chat(openapi_dumps(BODY), key)
                        assert json.loads(content) == {"choices": [{"message": {"content": "ok"}}]}
                await sdk.close()
            return seen

    seen = asyncio.run(go())
    assert len(seen) == 4
    assert seen[2:] == seen[:2]
    method, path, headers, body = seen[1]
    assert (method, path) == ("POST", "/v1/chat/completions")
    assert ("Cookie", "lb=a1") in headers and ("User-Agent", f"AsyncOpenAI/Python {openai.__version__}") in headers
    assert (
        body.decode()
        == '{"model":"m","messages":[{"role":"user","content":"Größe der Niere? ✓"}],"temperature":0.5,"seed":1}'
    )


def test_the_endpoint_timeout_still_applies_and_failures_keep_the_sdk_classes() -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({})

    async def refused(request: web.Request) -> web.Response:
        return web.json_response({"error": {"message": "slow down"}}, status=429, headers={"Retry-After": "3"})

    async def go() -> None:
        async with server(slow) as (url, _):
            _, lean = clients(url, timeout=0.3)
            with pytest.raises(openai.APITimeoutError):
                await lean.send_chat(openapi_dumps(BODY), "k")
            await lean.close()
        async with server(refused) as (url, _):
            _, lean = clients(url)
            with pytest.raises(openai.RateLimitError) as info:
                await lean.send_chat(openapi_dumps(BODY), "k")
            assert info.value.response.headers["retry-after"] == "3"
            await lean.close()

    asyncio.run(go())


def test_replies_that_httpx2_acts_on_are_handled_as_the_stock_sdk_handles_them() -> None:
    """A gzip body is decoded and a 307 is followed, as httpx2's client would; plain answers never go through it."""
    answer_json = {"choices": [{"message": {"content": "ok"}}]}

    async def zipped(request: web.Request) -> web.Response:
        body = gzip.compress(json.dumps(answer_json).encode())
        return web.Response(body=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})

    async def moved(request: web.Request) -> web.Response:
        if request.query.get("moved"):
            return web.json_response(answer_json)
        raise web.HTTPTemporaryRedirect(location="/v1/chat/completions?moved=1")

    async def plain(request: web.Request) -> web.Response:
        return web.json_response(answer_json)

    async def go() -> None:
        for reply in (zipped, moved):
            async with server(reply) as (url, seen):
                _, lean = clients(url)
                content, headers = await lean.send_chat(openapi_dumps(BODY), "k")
                assert json.loads(content) == answer_json
                await lean.close()
            if reply is moved:
                assert [path for _, path, _, _ in seen] == ["/v1/chat/completions", "/v1/chat/completions?moved=1"]
                assert seen[1][3] == seen[0][3]  # a 307 re-sends the same body
        async with server(plain) as (url, _):
            _, lean = clients(url)

            async def no_client(*args: Any, **kwargs: Any) -> None:
                raise AssertionError("a plain answer went through httpx2's client")

            lean._client.send = no_client  # type: ignore[method-assign]
            content, headers = await lean.send_chat(openapi_dumps(BODY), "k")
            assert json.loads(content) == answer_json and headers["Content-Type"].startswith("application/json")
            await lean.close()

    asyncio.run(go())
