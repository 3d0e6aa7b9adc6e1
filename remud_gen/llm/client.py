"""The one model client: every stage that calls a model (synthesize, judge, eval, the VLM detector) uses it.

`Client.complete` sends one `ChatRequest` to the least-busy healthy server of the fleet, retries what can succeed
(tenacity; exponential backoff with jitter; the server's `Retry-After` wins), fails at once on what cannot (400, 401,
403, 404, 413, 422), repairs or re-asks a cut-off or unparseable answer, and journals every answer it paid for.

Chat requests go out through the openai SDK over its aiohttp transport (`transport: sdk`, the default; `sdk.py` keeps
the SDK's per-request work to what differs between requests), or on a plain aiohttp session with the same URL, headers
and JSON (`transport: aiohttp`). Both now cost the same event-loop CPU per request (~0.32 ms, `bench/driver.py`); the
plain session only saves importing the SDK (~0.6 s of start-up). Either way failures come out as `errors.py`'s
SDK-shaped exceptions, so retries, Retry-After and failure records do not depend on the transport.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from remud_gen.llm.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    BadResponse,
    RequestFailed,
    backoff,
    describe,
    is_connection_failure,
    is_retryable,
    retry_after,
)
from remud_gen.llm.journal import Answer, Journal
from remud_gen.llm.ratelimit import RateLimiter
from remud_gen.llm.request import ChatRequest, estimate_tokens
from remud_gen.llm.settings import EndpointSettings
from remud_gen.records import Failure

if TYPE_CHECKING:
    from remud_gen.llm.sdk import ChatSDK

_COOLDOWN_AFTER = 3  # consecutive server failures before a fleet member is rested
_COOLDOWN_S = 30.0


@dataclass
class Result:
    """What became of one request: a parsed value, or a failure with its class and message."""

    request: ChatRequest
    key: str
    value: Any = None
    answer: Answer | None = None
    error: str | None = None
    message: str = ""
    attempts: int = 0
    cached: bool = False
    paid: tuple[Answer, ...] = ()  # the answers this run received for it (re-asks included), not journaled ones

    @property
    def ok(self) -> bool:
        return self.error is None

    def failure(self, stage: str) -> Failure:
        """This failed result as the record a stage writes to its failures.jsonl (with the raw answer, if any)."""
        return Failure(
            item=self.request.item,
            stage=stage,
            error=self.error or "error",
            message=self.message,
            attempts=self.attempts,
            raw=self.answer.content if self.answer is not None else None,
        )


class Slot:
    """One unit of the runner's concurrency bound, held while a request is on the wire."""

    def __init__(self, bound: asyncio.Semaphore, held: bool) -> None:
        self._bound = bound
        self._held = held

    async def acquire(self) -> None:
        if not self._held:
            await self._bound.acquire()
            self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._bound.release()


class _Server:
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
        self._sdk: ChatSDK | None = None  # transport sdk: made now; the Batch API: on first use
        if settings.transport == "sdk":
            # Importing the SDK (~0.6 s) and making its client (~50 ms loading CA certificates, blocking the loop)
            # belong to start-up, not to the first wave of requests, which would otherwise wait for them.
            self.sdk  # noqa: B018
        self.inflight = 0
        self.failures = 0
        self.rested_until = 0.0

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
    def sdk(self) -> ChatSDK:
        """The SDK client, for chat requests with transport sdk and for the Batch API (files and batches)."""
        if self._sdk is None:
            from remud_gen.llm.sdk import make_sdk

            s = self.settings
            self._sdk = make_sdk(self.base_url, self.api_key, s.concurrency, s.timeout_s)
        return self._sdk

    async def probe(self, url: str, timeout_s: float) -> tuple[int, Mapping[str, str], bytes]:
        """GET ``url`` as chat requests go (`ChatSDK.probe` with transport sdk): status, headers and body.

        Raises:
            TimeoutError: no answer in ``timeout_s``; aiohttp.ClientError or OSError: no connection.
        """
        if self.settings.transport == "sdk":
            return await self.sdk.probe(url, timeout_s)
        async with self.session().get(url, timeout=aiohttp.ClientTimeout(total=timeout_s), proxy=self.proxy) as resp:
            return resp.status, resp.headers, await resp.read()

    async def post(self, content: bytes, key: str) -> tuple[bytes, Mapping[str, str]]:
        """POST a chat completion: the 2xx body and its headers.

        Raises:
            APIStatusError: any other status; APITimeoutError, APIConnectionError: no complete answer.
        """
        if self.settings.transport == "sdk":
            return await self._post_sdk(content, key)
        try:
            async with self.session().post(self.chat_url, data=content, proxy=self.proxy) as resp:
                content = await resp.read()
                if resp.status >= 300:
                    raise APIStatusError.from_answer(resp.status, resp.headers, content)
                return content, resp.headers
        except TimeoutError as exc:
            raise APITimeoutError() from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise APIConnectionError() from exc

    async def _post_sdk(self, content: bytes, key: str) -> tuple[bytes, Mapping[str, str]]:
        """The same exchange through the SDK client (`sdk.py`), its failures translated to `errors.py`'s."""
        import openai

        try:
            return await self.sdk.send_chat(content, key)
        except openai.APIStatusError as exc:
            raise APIStatusError.from_answer(exc.status_code, exc.response.headers, exc.response.content) from exc
        except openai.APITimeoutError as exc:
            raise APITimeoutError() from exc
        except openai.APIConnectionError as exc:
            raise APIConnectionError() from exc.__cause__ or exc

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


class Client:
    """Sends requests to an OpenAI-compatible endpoint (or a fleet of them) and journals the answers.

    Args:
        settings: endpoint settings (URLs, model, limits, retries).
        journal: where answers are recorded and looked up; None disables journaling (eval of one-off prompts).
        api_key: the key; never stored anywhere but in the SDK client's memory.
        schema_prompt: text appended to the prompt when ``structured_output`` is "prompt" (`{schema}` is replaced).
    """

    def __init__(
        self,
        settings: EndpointSettings,
        journal: Journal | None,
        api_key: str,
        schema_prompt: str = "",
    ) -> None:
        self.settings = settings
        self.journal = journal
        self.schema_prompt = schema_prompt
        self.servers = [_Server(url, api_key, settings) for url in settings.base_url]
        self.limiter = RateLimiter(settings.requests_per_minute, settings.tokens_per_minute)
        # response_format objects made by `body`, by (name, schema id) and by their own id: (schema, object, JSON)
        self._formats_by_schema: dict[tuple[str, int], tuple[dict[str, Any], dict[str, Any], str]] = {}
        self._formats: dict[int, tuple[dict[str, Any], dict[str, Any], str]] = {}
        self.sent = 0
        self.retries = 0

    async def aclose(self) -> None:
        for server in self.servers:
            await server.aclose()

    async def check_reachable(self) -> None:
        """Raise `EndpointUnreachable` (one line) when no server of the fleet answers at all."""
        await check_reachable(self.servers)

    # -- one request, end to end -------------------------------------------------------------------------------

    def from_journal(self, req: ChatRequest) -> Result | None:
        """The result of ``req`` if its answer is already journaled and parses; sends nothing."""
        if self.journal is None:
            return None
        key = req.key(self.settings.model)
        answer = self.journal.get(key)
        if answer is None:
            return None
        result = self.accept(req, key, answer, attempts=0)
        if result.ok:
            result.cached = True
            return result
        return None

    async def complete(self, req: ChatRequest, slot: Slot | None = None) -> Result:
        """Get a parsed answer for ``req``: from the journal, else from the endpoint; never raises for the item.

        ``slot`` is the caller's concurrency slot: it is given back as soon as the HTTP exchange ends, so the next
        request is on the wire while this answer is parsed and journaled (at high concurrency that overlap is the
        difference between ~90% and ~100% of the endpoint's rate).
        """
        key = req.key(self.settings.model)
        attempts = 0
        paid: list[Answer] = []
        last: Result | None = None
        for reask in range(self.settings.max_reasks + 1):
            variant = req if reask == 0 else _reask_variant(req, reask, last)
            vkey = key if reask == 0 else variant.key(self.settings.model)
            answer = self.journal.get(vkey) if self.journal is not None else None
            if answer is None:
                if slot is not None:
                    await slot.acquire()
                try:
                    answer, tries = await self._send(variant, vkey, slot)
                except RequestFailed as exc:
                    attempts += exc.attempts
                    return Result(req, key, error=exc.kind, message=exc.message, attempts=attempts, paid=tuple(paid))
                finally:
                    if slot is not None:
                        slot.release()
                attempts += tries
                paid.append(answer)
                if self.journal is not None:
                    self.journal.add(answer)
            last = self.accept(req, key, answer, attempts)
            last.paid = tuple(paid)
            if last.ok:
                return last
        assert last is not None
        return last

    def accept(self, req: ChatRequest, key: str, answer: Answer, attempts: int) -> Result:
        if not answer.content.strip():
            return Result(
                req, key, answer=answer, error="empty", message="the model returned no text", attempts=attempts
            )
        if req.parse is None:
            return Result(req, key, value=answer.content, answer=answer, attempts=attempts)
        try:
            value = req.parse(answer.content)
        except ValueError as exc:
            kind = "truncated" if answer.finish_reason == "length" else "unparseable"
            return Result(req, key, answer=answer, error=kind, message=str(exc)[:300], attempts=attempts)
        return Result(req, key, value=value, answer=answer, attempts=attempts)

    async def _send(self, req: ChatRequest, key: str, slot: Slot | None = None) -> tuple[Answer, int]:
        """Send with retries; returns the answer and the number of HTTP attempts it took.

        While a request waits out a backoff or a Retry-After, its slot goes to other requests.
        """

        async def pause(seconds: float) -> None:
            if slot is not None:
                slot.release()
            await asyncio.sleep(seconds)
            if slot is not None:
                await slot.acquire()

        # Most requests succeed at once, so the first attempt goes without tenacity's per-attempt machinery (~50 us of
        # event-loop time a request, measured); a retryable failure waits as asked, then tenacity runs the retries.
        try:
            return await self._once(req, key), 1
        except (APIError, BadResponse) as exc:
            if not is_retryable(exc) or self.settings.max_retries == 0:
                kind, message = describe(exc)
                raise RequestFailed(kind, message, attempts=1) from exc
            await pause(self._delay(exc, 1))
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.max_retries),
            wait=self._wait,
            retry=retry_if_exception(is_retryable),
            reraise=True,
            sleep=pause,
        )
        tries = 1
        try:
            async for attempt in retrying:
                with attempt:
                    tries += 1
                    self.retries += 1
                    return await self._once(req, key), tries
        except (APIError, BadResponse) as exc:
            kind, message = describe(exc)
            raise RequestFailed(kind, message, attempts=tries) from exc
        raise RequestFailed("no_attempt", "no attempt was made", attempts=tries)  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        # tenacity counts from the first retry; the request's own count includes the first attempt
        return self._delay(state.outcome.exception() if state.outcome else None, state.attempt_number + 1)

    def _delay(self, exc: BaseException | None, attempt: int) -> float:
        """How long to wait after failed attempt number ``attempt``: the server's Retry-After, else a backoff."""
        asked = retry_after(exc) if exc else None
        if asked is not None:
            return min(asked, self.settings.backoff_max_s * 5)
        return backoff(attempt, self.settings.backoff_base_s, self.settings.backoff_max_s)

    async def _once(self, req: ChatRequest, key: str) -> Answer:
        server = self._pick()
        if self.limiter.active:
            tokens = estimate_tokens(req.text_chars()) + self._max_tokens(req) if self.limiter.tokens else 0
            await self.limiter.acquire(tokens)
        server.inflight += 1
        self.sent += 1
        try:
            content, headers = await server.post(self.encode(self.body(req)), key)
        except APIError as exc:
            server.note(not is_connection_failure(exc))
            raise
        finally:
            server.inflight -= 1
        server.note(True)
        self.limiter.learn(headers)
        try:
            body = json.loads(content)
        except ValueError as exc:
            raise BadResponse(f"the endpoint answered 200 with a body that is not JSON ({exc})") from exc
        if not isinstance(body, dict):
            raise BadResponse("the endpoint answered 200 with JSON that is not a chat completion")
        if not body.get("choices"):
            # Gateways (OpenRouter, LiteLLM proxies) report an upstream failure as 200 {"error": {...}}: keep its words.
            error = body.get("error")
            said = error.get("message") if isinstance(error, dict) else error
            raise BadResponse(f"the endpoint answered 200 without choices ({said or 'no error given'})")
        return _answer(key, req.item, body)

    def _pick(self) -> _Server:
        now = time.monotonic()
        healthy = [s for s in self.servers if s.rested_until <= now] or self.servers
        return min(healthy, key=lambda s: s.inflight)

    def _max_tokens(self, req: ChatRequest) -> int:
        return int(req.params.get("max_tokens", self.settings.max_tokens))

    def body(self, req: ChatRequest) -> dict[str, Any]:
        s = self.settings
        messages = [self._message(m.role, m.text, m.images) for m in req.messages]
        body: dict[str, Any] = {"model": s.model, "messages": messages}
        # A sampling setting of None means the endpoint takes none: a stage's own value is not sent either.
        if s.temperature is not None:
            body["temperature"] = req.params.get("temperature", s.temperature)
        if s.top_p is not None:
            body["top_p"] = req.params.get("top_p", s.top_p)
        body[s.token_limit_field] = self._max_tokens(req)
        seed = req.params.get("seed", s.seed)
        if seed is not None:
            body["seed"] = seed
        if req.params.get("n", 1) != 1:
            body["n"] = req.params["n"]
        if req.schema is not None:
            if s.structured_output == "json_schema":
                body["response_format"] = self._response_format(req.schema_name, req.schema)
            else:
                hint = self.schema_prompt.replace("{schema}", json.dumps(req.schema, ensure_ascii=False))
                last = messages[-1]
                last["content"] = [{"type": "text", "text": hint}, *_parts(last["content"])]
        return body

    def encode(self, body: dict[str, Any]) -> bytes:
        """The body's JSON, byte for byte as the openai SDK encodes it (`openapi_dumps`) for these plain values.

        A schema is most of a body's structure (~60% of its encoding time) and the same in every request of a task:
        when ``response_format`` is one `body` made, and the last key, its text encoded once is put in place.
        """
        made = self._formats.get(id(body.get("response_format")))
        if made is None or made[1] is not body["response_format"] or next(reversed(body)) != "response_format":
            return _dumps(body).encode()
        rest = {k: v for k, v in body.items() if k != "response_format"}
        return (_dumps(rest)[:-1] + ',"response_format":' + made[2] + "}").encode()

    def _response_format(self, name: str, schema: dict[str, Any]) -> dict[str, Any]:
        """The structured-output request for ``schema``: one object, and its JSON text, per schema object and name.

        Schemas are built once per task and never changed after; a request holds its task's schema object.
        """
        key = (name, id(schema))
        made = self._formats_by_schema.get(key)
        if made is None or made[0] is not schema:
            fmt = {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": False}}
            made = self._formats_by_schema[key] = (schema, fmt, _dumps(fmt))
            self._formats[id(fmt)] = made
        return made[1]

    def _message(self, role: str, text: str, images: tuple[Path, ...]) -> dict[str, Any]:
        if not images:
            return {"role": role, "content": text}
        from remud_gen.llm.images import data_url  # PIL is imported only by runs that send images

        parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
        for path in images:
            parts.append({"type": "image_url", "image_url": {"url": data_url(path, self.settings.image_max_pixels)}})
        return {"role": role, "content": parts}


def env_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url`` (HTTP(S)_PROXY or ALL_PROXY, unless NO_PROXY covers its host)."""
    parts = urllib.parse.urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]  # public, but not in typeshed
    if not proxies or bypass(parts.hostname or "", proxies):
        return None
    return proxies.get(parts.scheme) or proxies.get("all")


def _dumps(value: Any) -> str:
    """JSON as the openai SDK's `openapi_dumps` writes it: compact, non-ASCII kept, no NaN."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _parts(content: Any) -> list[dict[str, Any]]:
    return content if isinstance(content, list) else [{"type": "text", "text": content}]


def _reask_variant(req: ChatRequest, reask: int, last: Result | None) -> ChatRequest:
    """The same request with a different seed, and more room when the last answer was cut off."""
    params = dict(req.params)
    params["seed"] = int(params.get("seed", 0) or 0) + 1000 * reask
    if last is not None and last.answer is not None and last.answer.finish_reason == "length":
        params["max_tokens"] = int(params.get("max_tokens", 2048)) * 2
    return ChatRequest(
        item=req.item,
        messages=req.messages,
        schema=req.schema,
        schema_name=req.schema_name,
        prompt_version=req.prompt_version,
        params=params,
        parse=req.parse,
        meta=req.meta,
    )


def _answer(key: str, item: str, body: dict[str, Any]) -> Answer:
    """The first choice of a 200 chat completion, read leniently: servers differ in what they leave out.

    Raises:
        BadResponse: the choice or its message is not an object (retried like a broken body).
    """
    choices = body.get("choices")
    choice = (choices[0] if isinstance(choices, list) and choices else None) or {}
    message = (choice.get("message") if isinstance(choice, dict) else None) or {}
    if not isinstance(choice, dict) or not isinstance(message, dict):
        raise BadResponse("the endpoint answered 200 with a chat completion whose first choice is not an object")
    usage = _object(body.get("usage"))
    details = _object(usage.get("prompt_tokens_details"))
    return Answer(
        key=key,
        item=item,
        content=_text(message.get("content")),
        reasoning=_text(message.get("reasoning_content") or message.get("reasoning")) or None,
        finish_reason=str(choice.get("finish_reason") or "stop"),
        prompt_tokens=_count(usage.get("prompt_tokens")),
        completion_tokens=_count(usage.get("completion_tokens")),
        cached_tokens=_count(details.get("cached_tokens")),
    )


def _text(content: Any) -> str:
    """Message text: a string, or a list of content parts (some servers answer with `[{"type": "text", ...}]`)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = (p if isinstance(p, str) else p.get("text") if isinstance(p, dict) else None for p in content)
        return "".join(p for p in parts if isinstance(p, str))
    return str(content)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


async def endpoint_reachable(settings: EndpointSettings, api_key: str) -> None:
    """`check_reachable` for callers that hold settings rather than a `Client` (e.g. extract's VLM plan)."""
    servers = [_Server(url, api_key, settings) for url in settings.base_url]
    try:
        await check_reachable(servers)
    finally:
        for server in servers:
            await server.aclose()


async def check_reachable(servers: list[_Server], timeout_s: float = 10.0) -> None:
    """Fail fast with one clear line when no server of the fleet answers GET /models.

    It goes through the session the requests use (`_Server.probe`), so they reuse the connection it opens.
    """
    from remud_gen.errors import EndpointStatusError, EndpointUnreachable

    errors = []
    for server in servers:
        url = server.base_url.rstrip("/") + "/models"
        try:
            status, headers, content = await server.probe(url, timeout_s)
            if status < 300:
                return
            raise APIStatusError.from_answer(status, headers, content)
        except APIStatusError as exc:
            if exc.status_code in (401, 403):
                raise EndpointStatusError(
                    exc.status_code, f"{server.base_url} rejected the API key: {describe(exc)[1]}"
                ) from exc
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
