"""The SDK transport: what the server sees is what the stock openai SDK sends, through its public API only."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
import openai
import pytest
from aiohttp import web
from local_app import serve
from test_llm_request import requests as sample_requests

import remud_gen
from remud_gen.llm.client import Client
from remud_gen.llm.exchange_errors import APIConnectionError, APIStatusError, APITimeoutError, retry_after
from remud_gen.llm.sdk import make_sdk, probe, send_chat
from remud_gen.llm.settings import EndpointSettings

BODY = {"model": "m", "messages": [{"role": "user", "content": "Größe der Niere? ✓"}], "temperature": 0.5, "seed": 1}
ANSWER = {"choices": [{"message": {"content": "ok"}}]}
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
    app.router.add_get("/v1/models", handle)
    async with serve(app) as url:
        yield url, seen


async def answer(request: web.Request) -> web.Response:
    return web.json_response(ANSWER, headers={"Set-Cookie": "lb=a1; Path=/"})


def stock(url: str, timeout: float = 5.0) -> openai.AsyncOpenAI:
    """The SDK as its README sets it up over aiohttp, retries off as ours are."""
    http = openai.DefaultAioHttpClient(timeout=timeout)
    return openai.AsyncOpenAI(base_url=url, api_key="sk-test", max_retries=0, timeout=timeout, http_client=http)


def test_chat_requests_go_out_as_the_stock_sdk_sends_them(tmp_path: Path) -> None:
    """Same headers (the key, the SDK's User-Agent, a cookie the server set) and body bytes as the SDK writes."""
    client = Client(EndpointSettings(model="m", seed=3), None, "k", schema_prompt="Answer as {schema}")
    bodies = [client.body(req) for req in sample_requests(tmp_path)]

    async def go() -> Seen:
        async with server(answer) as (url, seen):
            theirs = stock(url)
            for body in bodies:  # the SDK's own JSON encoding of the same body
                await theirs.post("/chat/completions", cast_to=httpx2.Response, body=body)
            await theirs.close()
            ours = make_sdk(url, "sk-test", concurrency=8, timeout_s=5.0)
            for body in bodies:
                content, headers = await send_chat(ours, client.encode(body), "k1")
                assert json.loads(content) == ANSWER and headers["Content-Type"].startswith("application/json")
            await ours.close()
            return seen

    seen = asyncio.run(go())
    half = len(bodies)
    assert [body for *_, body in seen[half:]] == [body for *_, body in seen[:half]]
    volatile = {"x-stainless-retry-count", "idempotency-key", "x-stainless-read-timeout", "content-length"}
    for (_, path, theirs, _), (_, our_path, ours, _) in zip(seen[1:half], seen[half + 1 :], strict=True):
        assert our_path == path == "/v1/chat/completions"
        assert [h for h in ours if h[0].lower() not in volatile] == [h for h in theirs if h[0].lower() not in volatile]
    headers = dict(seen[-1][2])
    assert headers["Authorization"] == "Bearer sk-test" and headers["Cookie"] == "lb=a1"
    assert headers["User-Agent"] == f"AsyncOpenAI/Python {openai.__version__}"


def test_failures_come_out_as_the_clients_own_with_what_retries_need() -> None:
    """A 429 keeps its Retry-After; a slow answer is a timeout; a server that is gone is no timeout."""

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({})

    async def refused(request: web.Request) -> web.Response:
        return web.json_response({"error": {"message": "slow down"}}, status=429, headers={"Retry-After": "3"})

    async def go() -> str:
        async with server(slow) as (url, _):
            sdk = make_sdk(url, "sk-test", concurrency=8, timeout_s=0.3)
            with pytest.raises(APITimeoutError):
                await send_chat(sdk, json.dumps(BODY).encode(), "k")
            await sdk.close()
        async with server(refused) as (url, _):
            sdk = make_sdk(url, "sk-test", concurrency=8, timeout_s=5.0)
            with pytest.raises(APIStatusError) as info:
                await send_chat(sdk, json.dumps(BODY).encode(), "k")
            assert info.value.status_code == 429 and info.value.message == "Error code: 429 - slow down"
            assert retry_after(info.value) == 3.0
            await sdk.close()
        sdk = make_sdk(url, "sk-test", concurrency=8, timeout_s=5.0)  # the server is gone: nothing listens there
        with pytest.raises(APIConnectionError):
            await send_chat(sdk, json.dumps(BODY).encode(), "k")
        with pytest.raises(OSError):
            await probe(sdk, url + "/models", 5.0)
        await sdk.close()
        return url

    asyncio.run(go())


def test_replies_the_http_client_acts_on_are_handled() -> None:
    """A gzip body is decoded and a 307 is followed with the same body, as the stock SDK does."""

    async def zipped(request: web.Request) -> web.Response:
        body = gzip.compress(json.dumps(ANSWER).encode())
        return web.Response(body=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})

    async def moved(request: web.Request) -> web.Response:
        if request.query.get("moved"):
            return web.json_response(ANSWER)
        raise web.HTTPTemporaryRedirect(location="/v1/chat/completions?moved=1")

    async def go() -> None:
        for reply in (zipped, moved):
            async with server(reply) as (url, seen):
                sdk = make_sdk(url, "sk-test", concurrency=8, timeout_s=5.0)
                content, _ = await send_chat(sdk, json.dumps(BODY).encode(), "k")
                assert json.loads(content) == ANSWER
                await sdk.close()
            if reply is moved:
                assert [path for _, path, _, _ in seen] == ["/v1/chat/completions", "/v1/chat/completions?moved=1"]
                assert seen[1][3] == seen[0][3]

    asyncio.run(go())


def test_as_many_connections_as_requests_in_flight() -> None:
    """At concurrency 256 every request is on the wire at once (the SDK's own pool stops at 100)."""
    n = 256
    arrived: list[int] = []
    everyone = asyncio.Event()

    async def gather(request: web.Request) -> web.Response:
        arrived.append(1)
        if len(arrived) == n:
            everyone.set()
        await asyncio.wait_for(everyone.wait(), 5)  # answers only once all of them are in
        return web.json_response(ANSWER)

    async def go() -> None:
        async with server(gather) as (url, _):
            sdk = make_sdk(url, "sk-test", concurrency=n, timeout_s=10.0)
            await asyncio.gather(*(send_chat(sdk, json.dumps(BODY).encode(), f"k{i}") for i in range(n)))
            await sdk.close()

    asyncio.run(go())
    assert len(arrived) == n


def test_the_probe_reports_any_status_with_its_body() -> None:
    async def missing(request: web.Request) -> web.Response:
        return web.Response(status=404, text="no models here")

    async def go() -> tuple[int, bytes]:
        async with server(missing) as (url, _):
            sdk = make_sdk(url, "sk-test", concurrency=8, timeout_s=5.0)
            status, _, content = await probe(sdk, url + "/models", 5.0)
            await sdk.close()
            return status, content

    assert asyncio.run(go()) == (404, b"no models here")


def test_the_package_uses_no_private_part_of_the_sdk() -> None:
    """Private names change in any release: the pin on openai is `<4`, and CI tests the lowest and newest 3.x."""
    private = re.compile(r"\bopenai\._|from openai\.\S*\._|from openai\S* import _|httpx2\._")
    root = Path(remud_gen.__file__).parent
    lines = ((path, line) for path in root.rglob("*.py") for line in path.read_text("utf-8").splitlines())
    found = [f"{path.relative_to(root)}: {line.strip()}" for path, line in lines if private.search(line)]
    assert found == []
