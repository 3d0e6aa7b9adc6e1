"""The openai SDK client that chat requests go through with `transport: sdk`, and the Batch API always.

Only the SDK's public API, so any 3.x release serves (pyproject; `.ci/run` tests the lowest and the newest):

- `openai.AsyncOpenAI` with the SDK's retries off: `client.py` retries, honouring Retry-After, and never retries a
  refusal;
- its HTTP client `openai.DefaultAioHttpClient` (the SDK's aiohttp transport), with as many connections as requests
  in flight (the SDK's default of 100 would queue a concurrency of 256 in its pool);
- a chat request is `AsyncOpenAI.post`, the SDK's documented call for a request its typed methods do not cover
  (README, "Making custom/undocumented requests"): its body goes out as `Client.encode` wrote it (``content=``), where
  `chat.completions.create` would copy and re-encode every message, and its reply comes back as the HTTP response;
- failures are the SDK's public exception classes, translated here into `exchange_errors.py`'s, which the client's
  retry, Retry-After and failure records are written against whatever the transport.
"""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
import httpx2  # the openai SDK's HTTP package: its `Limits` and `Response` are what the SDK's public API takes
import openai

from remud_gen.llm.exchange_errors import APIConnectionError, APIStatusError, APITimeoutError

CHAT_PATH = "/chat/completions"


def make_sdk(base_url: str, api_key: str, concurrency: int, timeout_s: float) -> openai.AsyncOpenAI:
    """The SDK client for one server: aiohttp transport, ``concurrency`` connections, no retries of its own.

    `openai.DefaultAioHttpClient` honours HTTP(S)_PROXY / NO_PROXY as the stock SDK does. Connect and each read wait
    at most ``timeout_s``.
    """
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    http = openai.DefaultAioHttpClient(limits=limits, timeout=timeout_s)
    return openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=timeout_s, http_client=http)


async def send_chat(sdk: openai.AsyncOpenAI, content: bytes, key: str) -> tuple[bytes, Mapping[str, str]]:
    """POST one chat completion (``content``: its JSON bytes); return the 2xx answer's body and headers.

    The request's own key is its idempotency key: the SDK would otherwise draw a uuid4 per request (0.1-0.2 ms of the
    event loop reading the OS's randomness, profiled), and a retry of it keeps it.

    Raises:
        APIStatusError: any other status; APITimeoutError, APIConnectionError: no complete answer.
    """
    try:
        response = await sdk.post(CHAT_PATH, cast_to=httpx2.Response, content=content, options={"idempotency_key": key})
    except openai.APIStatusError as exc:
        answer = exc.response
        raise APIStatusError.from_answer(answer.status_code, answer.headers, answer.content) from exc
    except openai.APITimeoutError as exc:
        refused = _not_a_timeout(exc)
        if refused is not None:
            raise APIConnectionError() from refused
        raise APITimeoutError() from exc
    except openai.APIConnectionError as exc:
        raise APIConnectionError() from exc.__cause__ or exc
    except (aiohttp.ClientError, OSError) as exc:
        # The SDK's aiohttp transport leaves some of aiohttp's failures unmapped (a garbled reply raises
        # aiohttp.ClientResponseError): a broken exchange all the same, retried as on transport aiohttp.
        raise APIConnectionError() from exc
    return response.content, response.headers


async def probe(sdk: openai.AsyncOpenAI, url: str, timeout_s: float) -> tuple[int, Mapping[str, str], bytes]:
    """GET ``url`` (with the key) through ``sdk``, as chat requests go: status, headers and body, whatever the status.

    The chat requests then reuse the connection it opened, and the SDK has found the platform it names in its
    headers (once, in a worker thread) before the first wave of requests, which would otherwise each look.

    Raises:
        TimeoutError: no answer in ``timeout_s``; OSError: no connection.
    """
    try:
        answer = await sdk.get(url, cast_to=httpx2.Response, options={"timeout": timeout_s})
    except openai.APIStatusError as exc:
        answer = exc.response
    except openai.APITimeoutError as exc:
        refused = _not_a_timeout(exc)
        if refused is not None:
            raise OSError(str(refused) or type(refused).__name__) from exc
        raise TimeoutError("the request timed out") from exc
    except (openai.APIConnectionError, aiohttp.ClientError) as exc:
        cause = exc.__cause__ or exc
        raise OSError(str(cause) or type(cause).__name__) from exc
    return answer.status_code, answer.headers, answer.content


def _not_a_timeout(exc: BaseException) -> BaseException | None:
    """The aiohttp connection failure under an SDK timeout that is none (refused, reset), or None.

    The SDK's aiohttp transport maps every `aiohttp.ClientConnectionError`, a refused connection included, to a
    connect timeout, so a server that went away was reported as "the request timed out".
    """
    cause = exc.__cause__
    while cause is not None:
        if isinstance(cause, aiohttp.ClientConnectionError) and not isinstance(cause, TimeoutError):
            return cause
        cause = cause.__cause__
    return None
