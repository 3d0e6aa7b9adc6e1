"""The fleet: one `Server` per base URL, with its HTTP session, its health, its proxy; and the reachability check.

`Client` (`client.py`) sends each request to the least-busy healthy `Server`; a server whose requests keep failing
for want of a connection or with 5xx is rested for a while.
"""

from __future__ import annotations

import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import TYPE_CHECKING

import aiohttp

from remud_gen.llm.exchange_errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    auth_message,
    describe,
    glimpse,
    is_json,
)
from remud_gen.llm.settings import EndpointSettings

if TYPE_CHECKING:
    import openai

_COOLDOWN_AFTER = 3  # consecutive server failures before a fleet member is rested
_COOLDOWN_S = 30.0


class Server:
    """One member of the fleet: its HTTP session and what we know about its health.

    The aiohttp session belongs to the event loop it was made in, so it is made on first use inside the running loop
    and dropped again by `aclose`; a client can then serve a later `asyncio.run` too.
    """

    def __init__(self, base_url: str, api_key: str, settings: EndpointSettings) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.settings = settings
        self.chat_url = base_url.rstrip("/") + "/chat/completions"
        self._session: aiohttp.ClientSession | None = None
        # read once: aiohttp's trust_env reads the environment (and ~/.netrc) for every request, doubling its CPU
        self.proxy = env_proxy(self.chat_url)
        self._sdk: openai.AsyncOpenAI | None = None  # transport sdk: made now; the Batch API: on first use
        if settings.transport == "sdk":
            # Importing the SDK (~0.6 s) and making its client (~50 ms loading CA certificates, blocking the loop)
            # belong to start-up, not to the first wave of requests, which would otherwise wait for them.
            self.sdk  # noqa: B018
        self.inflight = 0
        self.failures = 0
        self.rested_until = 0.0
        self.unusable = False  # its first answer showed no chat API (`errors.unusable`)

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            t = self.settings.timeout_s
            self._session = aiohttp.ClientSession(
                # limit_per_host=0: the concurrency bound is the runner's; a per-host cap below it would queue here
                connector=aiohttp.TCPConnector(limit=self.settings.concurrency, limit_per_host=0),
                # as the SDK's httpx timeout: connect and each read wait at most timeout_s, not the whole exchange
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=t, sock_read=t),
                headers={"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"},
            )
        return self._session

    @property
    def sdk(self) -> openai.AsyncOpenAI:
        """The SDK client, for chat requests with transport sdk and for the Batch API (files and batches)."""
        if self._sdk is None:
            from remud_gen.llm.sdk import make_sdk

            s = self.settings
            self._sdk = make_sdk(self.base_url, self.api_key, s.concurrency, s.timeout_s)
        return self._sdk

    async def probe(self, url: str, timeout_s: float) -> tuple[int, Mapping[str, str], bytes]:
        """GET ``url`` as chat requests go (`sdk.probe` with transport sdk): status, headers and body.

        Raises:
            TimeoutError: no answer in ``timeout_s``; aiohttp.ClientError or OSError: no connection.
        """
        if self.settings.transport == "sdk":
            from remud_gen.llm.sdk import probe

            return await probe(self.sdk, url, timeout_s)
        async with self.session().get(url, timeout=aiohttp.ClientTimeout(total=timeout_s), proxy=self.proxy) as resp:
            return resp.status, resp.headers, await resp.read()

    async def post(self, content: bytes, key: str) -> tuple[bytes, Mapping[str, str]]:
        """POST a chat completion: the 2xx body and its headers.

        Raises:
            APIStatusError: any other status; APITimeoutError, APIConnectionError: no complete answer.
        """
        if self.settings.transport == "sdk":
            from remud_gen.llm.sdk import send_chat

            return await send_chat(self.sdk, content, key)
        try:
            async with self.session().post(self.chat_url, data=content, proxy=self.proxy) as resp:
                answer = await resp.read()
                if resp.status >= 300:
                    raise APIStatusError.from_answer(resp.status, resp.headers, answer)
                return answer, resp.headers
        except TimeoutError as exc:
            raise APITimeoutError() from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise APIConnectionError() from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._sdk is not None:
            await self._sdk.close()
            self._sdk = None

    def note(self, ok: bool) -> None:
        self.failures = 0 if ok else self.failures + 1
        if self.failures >= _COOLDOWN_AFTER:
            self.rested_until = time.monotonic() + _COOLDOWN_S
            self.failures = 0


def env_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url`` (HTTP(S)_PROXY or ALL_PROXY, unless NO_PROXY covers its host)."""
    parts = urllib.parse.urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]  # public, but not in typeshed
    if not proxies or bypass(parts.hostname or "", proxies):
        return None
    return proxies.get(parts.scheme) or proxies.get("all")


async def endpoint_reachable(settings: EndpointSettings, api_key: str) -> None:
    """`check_reachable` for callers that hold settings rather than a `Client` (e.g. extract's VLM plan)."""
    servers = [Server(url, api_key, settings) for url in settings.base_url]
    try:
        await check_reachable(servers)
    finally:
        for server in servers:
            await server.aclose()


async def check_reachable(servers: list[Server], timeout_s: float = 10.0) -> None:
    """Fail fast with one clear line when no server of the fleet answers GET /models.

    It goes through the session the requests use (`Server.probe`), so they reuse the connection it opens.
    """
    from remud_gen.errors import EndpointError, EndpointStatusError, EndpointUnreachable

    errors = []
    for server in servers:
        url = server.base_url.rstrip("/") + "/models"
        try:
            status, headers, content = await server.probe(url, timeout_s)
            if status < 300 and not is_json(content):
                # a web server or a captive portal answering every path: it is up, but no OpenAI-style API
                raise EndpointError(
                    f"GET {url} answered {status} with {glimpse(headers, content)}: not an OpenAI-style JSON body, "
                    "so this is not an OpenAI-compatible API; check base_url / --base-url"
                )
            if status < 300:
                return
            raise APIStatusError.from_answer(status, headers, content)
        except APIStatusError as exc:
            if exc.status_code in (401, 403):
                message = auth_message(server.base_url, describe(exc)[1], server.settings.api_key_env)
                raise EndpointStatusError(exc.status_code, message) from exc
            if exc.status_code == 404:  # some servers have no /models; they answered, so they are up
                return
            errors.append(f"{server.base_url}: {describe(exc)[1]}")
        except TimeoutError:
            errors.append(f"{server.base_url}: {describe(APITimeoutError())[1]}")
        except (aiohttp.ClientError, OSError) as exc:
            errors.append(f"{server.base_url}: connection failed: {exc}")
    raise EndpointUnreachable(
        "cannot reach the model endpoint (" + "; ".join(errors) + "); check base_url / --base-url and that the "
        "server is running"
    )
