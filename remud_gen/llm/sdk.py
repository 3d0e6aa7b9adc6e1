"""The openai SDK client that chat requests go through with `transport: sdk`, and the Batch API always.

A chat request still goes out as the SDK makes it: the SDK's `_build_request` builds it (URL, auth, User-Agent and
X-Stainless headers, timeouts, the SDK's JSON), the SDK's httpx2/aiohttp client sends it, and its failures are the
SDK's exception classes. What is gone is work whose answer never changes from one chat request to the next, which the
SDK redoes for each. Measured with `bench/driver.py` (zero latency, concurrency 256), the SDK path went from ~0.95 to
~0.44 ms of event-loop CPU per request (a plain aiohttp session: ~0.28):

- `_build_request` (~0.27 ms: header merging, URL parsing, httpx2 re-deriving headers) runs once; later requests copy
  its result with their own body;
- `request` (~0.1 ms: option models built and copied, hooks that do nothing for a plain API key) is skipped while it
  has nothing to do for a chat request;
- the SDK's aiohttp adapter takes a shorter path for chat requests (`ChatTransport`, ~0.03 ms);
- the platform for X-Stainless-OS is found once, here, not by each request of the first wave in a worker thread.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import httpx2  # the openai SDK's own HTTP package
import openai
from openai._base_client import get_platform
from openai._httpx2 import request_exceptions, timeout_exceptions
from openai._models import FinalRequestOptions
from openai._utils._json import openapi_dumps
from openai._vendor.httpx_aiohttp import AiohttpTransport
from openai._vendor.httpx_aiohttp.transport import map_aiohttp_exceptions

CHAT_PATH = "/chat/completions"
_CHAT = "remud_gen.chat"  # request extension: a chat request `ChatTransport` may read in one go


def make_sdk(base_url: str, api_key: str, concurrency: int, timeout_s: float) -> ChatSDK:
    """The SDK client on the SDK's aiohttp client, with its adapter's chat path shortened (`ChatTransport`)."""
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    http = openai.DefaultAioHttpClient(transport=ChatTransport(limits=limits), limits=limits, timeout=timeout_s)
    return ChatSDK(base_url=base_url, api_key=api_key, max_retries=0, timeout=timeout_s, http_client=http)


class ChatSDK(openai.AsyncOpenAI):
    """`openai.AsyncOpenAI` with a `send_chat` method whose per-request constant work is done once."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # `request` finds the platform in a worker thread on first use: at concurrency 256 that was 256 thread hops
        # (and up to 256 calls) before the first wave could leave. It takes ~2 ms once, here.
        self._platform = get_platform()
        self._chat_template: httpx2.Request | None = None  # the first chat request: the others copy it

    @property
    def user_agent(self) -> str:
        return f"AsyncOpenAI/Python {self._version}"  # the SDK names its class here; a subclass must not rename it

    async def send_chat(self, body: dict[str, Any], key: str) -> httpx2.Response:
        """POST one chat completion and return the 2xx response, read.

        The request's own key is its idempotency key: the SDK would otherwise draw a uuid4 per request, and reading
        the OS's randomness cost 0.1-0.2 ms a request on the event loop here (profiled).

        Raises:
            openai.APIStatusError: any other status; openai.APITimeoutError, openai.APIConnectionError: no answer.
        """
        content = openapi_dumps(body)  # the SDK's own JSON, as `post(body=...)` would send it
        if self._per_request_work():
            options = FinalRequestOptions.construct(method="post", url=CHAT_PATH, content=content, idempotency_key=key)
            return await self.request(httpx2.Response, options)
        # What `request` comes down to when `_per_request_work` says no: one try, the SDK's exceptions.
        request = self._chat_request(content, key)
        try:
            response = await self._client.send(request)
        except timeout_exceptions() as exc:
            raise openai.APITimeoutError(request=request) from exc
        except request_exceptions() as exc:
            raise openai.APIConnectionError(request=request) from exc
        if not response.is_success:
            raise self._make_status_error_from_response(response)
        return response

    def _per_request_work(self) -> bool:
        """Whether `request` has work to do that differs between chat requests: retries, or headers that change
        (cookies, an idempotency header, a refreshed key or token). Not for this client's plain API key; then the
        SDK's per-request option models, header and URL merging and no-op hooks cost ~0.5 ms a request (profiled)."""
        return bool(
            self.max_retries
            or self._idempotency_header
            or self._client.cookies
            or self._api_key_provider
            or self._provider_runtime
            or self._workload_identity_auth
        )

    def _chat_request(self, content: bytes, key: str) -> httpx2.Request:
        """A chat request as `_build_request` makes it: the first one is its, the others copy it with their body."""
        template = self._chat_template
        if template is None:
            options = FinalRequestOptions.construct(method="post", url=CHAT_PATH, content=content, idempotency_key=key)
            template = self._chat_template = self._build_request(options)
        # The body as a ready stream with its length set here: `content=` would have httpx2 re-derive every header
        # (~30 us); the bytes are read into the request as `content=` would.
        headers = httpx2.Headers(template.headers)
        headers["Content-Length"] = str(len(content))
        stream = httpx2.ByteStream(content)
        extensions = {**template.extensions, _CHAT: True}
        request = httpx2.Request("POST", template.url, headers=headers, stream=stream, extensions=extensions)
        request.read()
        return request


class ChatTransport(AiohttpTransport):
    """The SDK's aiohttp adapter (as `openai.DefaultAioHttpClient` makes it), shorter for `ChatSDK`'s chat requests.

    Their headers reach aiohttp as pairs (aiohttp converting httpx2's header object cost ~20 us a request) and their
    answer is read in one call, not streamed through the adapter's chunk iterator. Other requests (files, batches,
    anything streamed or proxied) take the adapter's own path.
    """

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if not request.extensions.get(_CHAT) or self.proxy is not None:
            return await super().handle_async_request(request)
        if not isinstance(self.client, aiohttp.ClientSession):
            self.client = self.get_client()
        timeout = request.extensions["timeout"]
        with map_aiohttp_exceptions():  # the adapter's own translation to httpx2's errors
            async with self.client.request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=request.content,
                allow_redirects=False,
                auto_decompress=False,
                compress=False,
                timeout=aiohttp.ClientTimeout(
                    sock_connect=timeout.get("connect"), sock_read=timeout.get("read"), connect=timeout.get("pool")
                ),
                server_hostname=request.extensions.get("sni_hostname"),
            ) as response:
                content = await response.read()
        extensions = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode()
        stream = httpx2.ByteStream(content)
        return httpx2.Response(
            response.status, headers=response.raw_headers, stream=stream, request=request, extensions=extensions
        )
