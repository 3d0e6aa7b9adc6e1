"""The openai SDK client that chat requests go through with `transport: sdk`, and the Batch API always.

A chat request still goes out as the SDK sends it: built by `AsyncOpenAI._build_request` (same URL, auth, User-Agent
and X-Stainless headers, timeouts), through `AsyncOpenAI.request` (its response checks and error classes) and its
httpx2/aiohttp client. What is gone is work whose answer never changes from one chat request to the next, which the
SDK redoes every time; profiled at concurrency 256, it came to ~0.45 of the SDK path's ~1.15 ms of event-loop CPU
per request:

- the request's headers, URL and timeout (`_build_request`: ~0.27 ms) are those of the first chat request;
- the request options (`FinalRequestOptions.construct`: ~0.05 ms) are a shallow copy of a template;
- the platform for the X-Stainless-OS header is found once here, not by every request of the first wave in a thread.
"""

from __future__ import annotations

from typing import Any

import httpx2  # the openai SDK's own HTTP package
import openai
from openai._base_client import get_platform
from openai._models import FinalRequestOptions
from openai._utils._json import openapi_dumps

CHAT_PATH = "/chat/completions"
# The fields a chat request's options set (the rest keep their defaults): only such requests reuse the first one's
# headers and URL; anything else (files, batches, a retry) is built by the SDK from scratch.
_CHAT_FIELDS = frozenset({"method", "url", "content", "idempotency_key"})


class ChatSDK(openai.AsyncOpenAI):
    """`openai.AsyncOpenAI` with a `send_chat` method whose per-request constant work is done once."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # `request` finds the platform in a worker thread on first use: at concurrency 256 that was 256 thread hops
        # (and up to 256 calls) before the first wave could leave. It takes ~2 ms once, here.
        self._platform = get_platform()
        self._chat_options = FinalRequestOptions.construct(
            method="post", url=CHAT_PATH, content=b"", idempotency_key=""
        )
        self._chat_request: httpx2.Request | None = None  # the first chat request: the others copy it

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
        options = self._chat_options.model_copy(update={"content": content, "idempotency_key": key})
        return await self.request(httpx2.Response, options)

    def _build_request(self, options: FinalRequestOptions, *, retries_taken: int = 0) -> httpx2.Request:
        if (
            retries_taken
            or options.url != CHAT_PATH
            or options.model_fields_set != _CHAT_FIELDS
            or self._idempotency_header
            or self._client.cookies  # the cookie header would have to be merged in per request
        ):
            return super()._build_request(options, retries_taken=retries_taken)
        first = self._chat_request
        if first is None:
            first = self._chat_request = super()._build_request(options)
        assert isinstance(options.content, bytes)
        # The body as a ready stream with its length set here: `content=` would have httpx2 re-derive every header
        # (~30 us); the bytes are read into the request as `content=` would.
        headers = httpx2.Headers(first.headers)
        headers["Content-Length"] = str(len(options.content))
        request = httpx2.Request(
            first.method,
            first.url,
            headers=headers,
            stream=httpx2.ByteStream(options.content),
            extensions=first.extensions,
        )
        request.read()
        return request
