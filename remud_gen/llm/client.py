"""The one model client: every stage that calls a model (synthesize, judge, eval, the VLM detector) uses it.

`Client.complete` sends one `ChatRequest` to the least-busy healthy server of the fleet (`fleet.py`), retries what
can succeed (tenacity; exponential backoff with jitter; the server's `Retry-After` wins), fails at once on what cannot
(400, 401, 403, 404, 413, 422), repairs or re-asks a cut-off or unparseable answer, and journals every answer it paid
for.

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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from remud_gen.llm.errors import (
    APIError,
    APITimeoutError,
    BadResponse,
    RequestFailed,
    Unusable,
    backoff,
    describe,
    glimpse,
    is_connection_failure,
    is_retryable,
    retry_after,
    unusable,
)
from remud_gen.llm.fleet import Server, check_reachable
from remud_gen.llm.journal import Answer, Journal
from remud_gen.llm.ratelimit import RateLimiter
from remud_gen.llm.request import ChatRequest, estimate_tokens
from remud_gen.llm.settings import EndpointSettings
from remud_gen.records import Failure


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
        self.servers = [Server(url, api_key, settings) for url in settings.base_url]
        self.limiter = RateLimiter(settings.requests_per_minute, settings.tokens_per_minute)
        self._formats: dict[tuple[str, int], _Format] = {}  # response_format objects by (name, schema id)
        self.sent = 0
        self.retries = 0
        # Until the endpoint has sent one JSON answer, a failure may say it is no chat API at all (`unusable`).
        self.answered = False
        self.on_timeout: Callable[[], None] | None = None  # called when an attempt got no answer in timeout_s

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

    def shared(self, req: ChatRequest, key: str, first: Result) -> Result:
        """The result of ``req`` from ``first``, the result of an identical request sent in this run (nothing paid)."""
        if first.answer is None:
            return Result(req, key, error=first.error, message=first.message)
        result = self.accept(req, key, first.answer, attempts=0)
        result.cached = True
        return result

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
        except (APIError, BadResponse, Unusable) as exc:
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
        except (APIError, BadResponse, Unusable) as exc:
            kind, message = describe(exc)
            raise RequestFailed(kind, message, attempts=tries) from exc
        raise RequestFailed("no_attempt", "no attempt was made", attempts=tries)  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        # tenacity counts from the first retry; the request's own count includes the first attempt
        return self._delay(state.outcome.exception() if state.outcome else None, state.attempt_number + 1)

    def _delay(self, exc: BaseException | None, attempt: int) -> float:
        """How long to wait after failed attempt number ``attempt``: the server's Retry-After, else a backoff."""
        if isinstance(exc, APITimeoutError) and self.on_timeout is not None:
            self.on_timeout()  # said now, not after the last of its retries
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
            found = self._unusable(exc, server)
            if found is not None:
                raise found from exc
            raise
        finally:
            server.inflight -= 1
        server.note(True)
        self.limiter.learn(headers)
        try:
            body = json.loads(content)
        except ValueError as exc:
            # JSON cut off half way is a broken answer, worth a retry; a page or plain text is another kind of server
            seen = "" if content.lstrip()[:1] in (b"{", b"[") else glimpse(headers, content)
            bad = BadResponse(f"the endpoint answered 200 with a body that is not JSON ({exc})", seen)
            raise self._unusable(bad, server) or bad from exc
        if not isinstance(body, dict):
            raise BadResponse("the endpoint answered 200 with JSON that is not a chat completion")
        self.answered = True
        if not body.get("choices"):
            # Gateways (OpenRouter, LiteLLM proxies) report an upstream failure as 200 {"error": {...}}: keep its words.
            error = body.get("error")
            said = error.get("message") if isinstance(error, dict) else error
            raise BadResponse(f"the endpoint answered 200 without choices ({said or 'no error given'})")
        return _answer(key, req.item, body)

    def _unusable(self, exc: Exception, server: Server) -> Unusable | None:
        """What ``exc`` shows about the whole endpoint while nothing has been answered yet (`errors.unusable`): once
        every server of the fleet has shown it the stage stops; until then the request is retried on another."""
        found = None if self.answered else unusable(exc, server.chat_url, self.settings.timeout_s)
        if found is None:
            return None
        server.unusable = True
        return found if all(s.unusable for s in self.servers) else None

    def _pick(self) -> Server:
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
        fmt = body.get("response_format")
        if not isinstance(fmt, _Format) or next(reversed(body)) != "response_format":
            return _dumps(body).encode()
        rest = {k: v for k, v in body.items() if k != "response_format"}
        return (_dumps(rest)[:-1] + ',"response_format":' + fmt.text + "}").encode()

    def _response_format(self, name: str, schema: dict[str, Any]) -> _Format:
        """The structured-output request for ``schema``: one object, with its JSON text, per schema object and name.

        Schemas are built once per task and never changed after; a request holds its task's schema object.
        """
        fmt = self._formats.get((name, id(schema)))
        if fmt is None or fmt.schema is not schema:
            fmt = self._formats[name, id(schema)] = _Format(name, schema)
        return fmt

    def _message(self, role: str, text: str, images: tuple[Path, ...]) -> dict[str, Any]:
        if not images:
            return {"role": role, "content": text}
        from remud_gen.llm.images import data_url  # PIL is imported only by runs that send images

        parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
        for path in images:
            parts.append({"type": "image_url", "image_url": {"url": data_url(path, self.settings.image_max_pixels)}})
        return {"role": role, "content": parts}


class _Format(dict[str, Any]):
    """A `response_format` object that carries its own JSON text (`Client.encode` puts it in place)."""

    def __init__(self, name: str, schema: dict[str, Any]) -> None:
        super().__init__(type="json_schema", json_schema={"name": name, "schema": schema, "strict": False})
        self.schema = schema
        self.text = _dumps(self)


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
