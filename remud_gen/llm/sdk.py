"""The openai SDK client that chat requests go through with `transport: sdk`, and the Batch API always.

A chat request still goes out as the SDK makes it: the SDK's `_build_request` builds it (URL, auth, User-Agent and
X-Stainless headers, timeouts), its body is the SDK's JSON encoding (`Client.encode` writes the same bytes as
`openapi_dumps`), the SDK's aiohttp adapter sends it, and its failures are the SDK's exception classes. What is gone is
work whose answer never changes from one chat request to the next, which the SDK redoes for each. Measured with
`bench/driver.py` (zero latency, concurrency 256), the SDK path went from ~0.95 to ~0.32 ms of event-loop CPU per
request, the same as a plain aiohttp session:

- `_build_request` (~0.27 ms: header merging, URL parsing, httpx2 re-deriving headers) runs once; later requests copy
  its result with their own body;
- `request` (~0.1 ms: option models built and copied, hooks that do nothing for a plain API key) is skipped while it
  has nothing to do for a chat request;
- httpx2's client between the SDK and its adapter (~0.15 ms) is skipped while it has nothing to do either
  (`ChatSDK._can_go_direct`); a reply it would act on (an error status, a redirect, a cookie, an encoded body) is
  handed to it;
- the platform for X-Stainless-OS is found once, here, not by each request of the first wave in a worker thread.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx2  # the openai SDK's own HTTP package
import openai
from openai._base_client import get_platform
from openai._httpx2 import request_exceptions, timeout_exceptions
from openai._models import FinalRequestOptions
from openai._vendor.httpx_aiohttp import AiohttpTransport
from openai._vendor.httpx_aiohttp.transport import map_aiohttp_exceptions

CHAT_PATH = "/chat/completions"
_CHAT = "remud_gen.chat"  # request extension: a chat request `ChatTransport` may read in one go


def make_sdk(base_url: str, api_key: str, concurrency: int, timeout_s: float) -> ChatSDK:
    """The SDK client on the SDK's aiohttp client, with its adapter's chat path shortened (`ChatTransport`).

    The client is made as `openai.DefaultAioHttpClient` makes itself, so it honours HTTP(S)_PROXY / NO_PROXY as the
    stock SDK does (handing it a ready transport would have turned the environment's proxies off).
    """
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    http = _ChatHttpClient(limits=limits, timeout=timeout_s)
    return ChatSDK(base_url=base_url, api_key=api_key, max_retries=0, timeout=timeout_s, http_client=http)


class _ChatHttpClient(openai.DefaultAioHttpClient):
    """`openai.DefaultAioHttpClient` whose direct transport is `ChatTransport`; proxies keep the adapter's own."""

    def _init_transport(
        self,
        verify: ssl.SSLContext | str | bool = True,
        cert: str | tuple[str, str] | tuple[str, str, str] | None = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: httpx2.Limits = httpx2.Limits(),  # noqa: B008  (httpx2's own signature)
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> httpx2.AsyncBaseTransport:
        if transport is not None:
            return transport
        return ChatTransport(verify=verify, cert=cert, trust_env=trust_env, http1=http1, http2=http2, limits=limits)


class ChatSDK(openai.AsyncOpenAI):
    """`openai.AsyncOpenAI` with a `send_chat` method whose per-request constant work is done once."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # `request` finds the platform in a worker thread on first use: at concurrency 256 that was 256 thread hops
        # (and up to 256 calls) before the first wave could leave. It takes ~2 ms once, here.
        self._platform = get_platform()
        self._chat_template: httpx2.Request | None = None  # the first chat request: the others copy it
        self._chat_wire: _Wire | None = None  # the template as the adapter's aiohttp session takes it
        self._direct: bool | None = None  # whether chat requests may skip httpx2's client (`_can_go_direct`)

    @property
    def user_agent(self) -> str:
        return f"AsyncOpenAI/Python {self._version}"  # the SDK names its class here; a subclass must not rename it

    async def probe(self, url: str, timeout_s: float) -> tuple[int, Mapping[str, str], bytes]:
        """GET ``url`` (with the key) the way chat requests will go: status, headers and body.

        Without a proxy that is the adapter's own session, so the chat requests reuse the connection it opens;
        through a proxy it is httpx2's client, as chat requests then are.

        Raises:
            TimeoutError: no answer in ``timeout_s``; aiohttp.ClientError or OSError: no connection.
        """
        headers = {"Authorization": f"Bearer {self.api_key}"}
        client = self._client
        if client._transport_for_url(httpx2.URL(url)) is client._transport:
            timeout = aiohttp.ClientTimeout(total=timeout_s)
            async with self._transport().session().get(url, headers=headers, timeout=timeout) as response:
                return response.status, response.headers, await response.read()
        try:
            answer = await client.get(url, headers=headers, timeout=timeout_s)
        except timeout_exceptions() as exc:
            raise TimeoutError(str(exc)) from exc
        except request_exceptions() as exc:
            raise OSError(str(exc) or type(exc).__name__) from exc
        return answer.status_code, answer.headers, answer.content

    async def send_chat(self, content: bytes, key: str) -> tuple[bytes, Mapping[str, str]]:
        """POST one chat completion (``content``: its JSON as the SDK encodes it, `openapi_dumps`); return the 2xx
        answer's body (decoded) and headers.

        The request's own key is its idempotency key: the SDK would otherwise draw a uuid4 per request, and reading
        the OS's randomness cost 0.1-0.2 ms a request on the event loop here (profiled).

        Raises:
            openai.APIStatusError: any other status; openai.APITimeoutError, openai.APIConnectionError: no answer.
        """
        if self._per_request_work():
            options = FinalRequestOptions.construct(method="post", url=CHAT_PATH, content=content, idempotency_key=key)
            response = await self.request(httpx2.Response, options)
            return response.content, response.headers
        wire = self._chat_wire
        if wire is None:
            if not self._can_go_direct(content, key):
                return await self._send_through_client(self._chat_request(content, key))
            wire = self._chat_wire = _Wire.of(self._chat_request(content, key))
        try:
            answer, data = await self._transport().post_chat(wire, content)
        except timeout_exceptions() as exc:
            raise openai.APITimeoutError(request=self._chat_request(content, key)) from exc
        except _connection_errors() as exc:
            raise openai.APIConnectionError(request=self._chat_request(content, key)) from exc
        if 200 <= answer.status < 300 and not _needs_client(answer.headers):
            return data, answer.headers
        # An error status, a redirect, a cookie or an encoded body: what httpx2's client does with it, done here.
        request = self._chat_request(content, key)
        extensions = {"http_version": b"HTTP/1.1", "reason_phrase": (answer.reason or "").encode()}
        stream = httpx2.ByteStream(data)
        response = httpx2.Response(
            answer.status, headers=answer.raw_headers, stream=stream, request=request, extensions=extensions
        )
        self._client.cookies.extract_cookies(response)
        if response.has_redirect_location and self._client.follow_redirects:
            redirect = self._client._build_redirect_request(request, response)
            redirect.read()  # its body is this request's bytes (or none): `ChatTransport` reads it in one go
            return await self._send_through_client(redirect)
        await response.aread()  # httpx2's decoders undo a Content-Encoding
        if not response.is_success:
            raise self._make_status_error_from_response(response)
        return response.content, response.headers

    async def _send_through_client(self, request: httpx2.Request) -> tuple[bytes, Mapping[str, str]]:
        """What `request` comes down to when `_per_request_work` says no: one try, the SDK's exceptions."""
        try:
            response = await self._client.send(request)
        except timeout_exceptions() as exc:
            raise openai.APITimeoutError(request=request) from exc
        except _connection_errors() as exc:
            raise openai.APIConnectionError(request=request) from exc
        if not response.is_success:
            raise self._make_status_error_from_response(response)
        return response.content, response.headers

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

    def _can_go_direct(self, content: bytes, key: str) -> bool:
        """Whether chat requests may go straight to the adapter (`ChatTransport.post_chat`).

        httpx2's client between the SDK and its adapter then has nothing to do for them: no proxy for their URL, no
        event hooks, no auth flow (the key is a header). It still cost ~0.15 ms a request (a second header object,
        an auth and a redirect generator, a streamed read of bytes already read; profiled). The replies it would act
        on, a redirect or a cookie, are handed to it (`send_chat`).
        """
        if self._direct is None:
            client = self._client
            url = self._chat_request(content, key).url
            self._direct = (
                isinstance(client._transport, ChatTransport)
                and client._transport_for_url(url) is client._transport  # no proxy (HTTPS_PROXY, ...) for this URL
                and not any(client._event_hooks.values())
                and client._auth is None
                and not (url.username or url.password)  # httpx2 would add Basic auth
            )
        return self._direct

    def _transport(self) -> ChatTransport:
        transport = self._client._transport
        assert isinstance(transport, ChatTransport), "make ChatSDK with make_sdk"
        return transport

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


def _connection_errors() -> tuple[type[BaseException], ...]:
    """What fails a chat request for want of an answer: the SDK's own list, and what its adapter leaves as aiohttp's
    (a garbled reply raised aiohttp.ClientResponseError and failed the item unretried), as on transport aiohttp."""
    return (*request_exceptions(), aiohttp.ClientError, OSError)


def _needs_client(headers: Mapping[str, str]) -> bool:
    """Whether a 2xx answer carries what httpx2's client acts on: a cookie to keep, or a body to decode."""
    return "Set-Cookie" in headers or headers.get("Content-Encoding", "identity") != "identity"


@dataclass(frozen=True)
class _Wire:
    """A chat request as the adapter's aiohttp session takes it, made once from the SDK's first chat request.

    Only the body and its Content-Length differ between chat requests; the headers keep the SDK's order.
    """

    url: str
    headers: tuple[tuple[str, str], ...]
    length_at: int  # where Content-Length stands among the headers
    timeout: aiohttp.ClientTimeout
    server_hostname: str | None

    @classmethod
    def of(cls, request: httpx2.Request) -> _Wire:
        headers = tuple(request.headers.multi_items())
        length_at = next(i for i, (name, _) in enumerate(headers) if name.lower() == "content-length")
        return cls(
            url=str(request.url),
            headers=headers,
            length_at=length_at,
            timeout=_aiohttp_timeout(request.extensions["timeout"]),
            server_hostname=request.extensions.get("sni_hostname"),
        )

    def headers_for(self, content: bytes) -> list[tuple[str, str]]:
        headers = list(self.headers)
        headers[self.length_at] = ("Content-Length", str(len(content)))
        return headers


def _aiohttp_timeout(timeout: Mapping[str, float | None]) -> aiohttp.ClientTimeout:
    """httpx2's timeout extension as the SDK's aiohttp adapter translates it."""
    return aiohttp.ClientTimeout(
        sock_connect=timeout.get("connect"), sock_read=timeout.get("read"), connect=timeout.get("pool")
    )


class ChatTransport(AiohttpTransport):
    """The SDK's aiohttp adapter (as `openai.DefaultAioHttpClient` makes it), shorter for `ChatSDK`'s chat requests.

    Their headers reach aiohttp as pairs (aiohttp converting httpx2's header object cost ~20 us a request) and their
    answer is read in one call, not streamed through the adapter's chunk iterator. Other requests (files, batches,
    anything streamed or proxied) take the adapter's own path.
    """

    def session(self) -> aiohttp.ClientSession:
        """The adapter's aiohttp session, made as the adapter makes it on its first request."""
        if not isinstance(self.client, aiohttp.ClientSession):
            self.client = self.get_client()
        return self.client

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if not request.extensions.get(_CHAT) or self.proxy is not None:
            return await super().handle_async_request(request)
        with map_aiohttp_exceptions():  # the adapter's own translation to httpx2's errors
            async with self.session().request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=request.content,
                allow_redirects=False,
                auto_decompress=False,
                compress=False,
                timeout=_aiohttp_timeout(request.extensions["timeout"]),
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

    async def post_chat(self, wire: _Wire, content: bytes) -> tuple[aiohttp.ClientResponse, bytes]:
        """Send one chat request as `handle_async_request` would, without httpx2 objects: the answer and its body.

        Raises:
            httpx2's errors, as the adapter maps aiohttp's.
        """
        with map_aiohttp_exceptions():
            async with self.session().request(
                "POST",
                wire.url,
                headers=wire.headers_for(content),
                data=content,
                allow_redirects=False,
                auto_decompress=False,
                compress=False,
                timeout=wire.timeout,
                server_hostname=wire.server_hostname,
            ) as response:
                return response, await response.read()
