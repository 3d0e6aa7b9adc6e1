"""The one model client: every stage that calls a model (synthesize, judge, eval, the VLM detector) uses it.

`Client.complete` sends one `ChatRequest` to the least-busy healthy server of the fleet (`fleet.py`), retries what
can succeed (tenacity; exponential backoff with jitter; the server's `Retry-After` wins), fails at once on what cannot
(400, 401, 403, 404, 413, 422, and a refused request feature whatever its status: `errors.refusal`), repairs or
re-asks a cut-off or unparseable answer, and journals every answer it paid for. How a request's body is written for
its endpoint (structured-output mode, string content) is `body.py`'s.

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
from typing import TYPE_CHECKING, Any

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from remud_gen.llm.body import BodyWriter
from remud_gen.llm.errors import (
    APIError,
    APIStatusError,
    APITimeoutError,
    BadResponse,
    RequestFailed,
    Unusable,
    backoff,
    describe,
    glimpse,
    is_connection_failure,
    is_retryable,
    refusal,
    retry_after,
    unusable,
    whole_message,
)
from remud_gen.llm.fleet import Server, check_reachable
from remud_gen.llm.journal import Answer, Journal
from remud_gen.llm.ratelimit import RateLimiter
from remud_gen.llm.request import ChatRequest, estimate_tokens
from remud_gen.llm.settings import EndpointSettings
from remud_gen.records import Failure
from remud_gen.redact import redact

if TYPE_CHECKING:
    from remud_gen.llm.probe import Capabilities


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
    fix: str | None = None  # the endpoint refused a feature of the request: the setting that mends it

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
        schema_prompt: the instruction that carries a schema in prompt mode (`{schema}` is replaced).
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
        self.writer = BodyWriter(settings, schema_prompt)
        self.capabilities: Capabilities | None = None  # what a probe found (`probe.ensure`)
        self.probed_in: Path | None = None  # the endpoints file that holds it
        self.servers = [Server(url, api_key, settings) for url in settings.base_url]
        self.limiter = RateLimiter(settings.requests_per_minute, settings.tokens_per_minute)
        self.sent = 0
        self.retries = 0
        # Until the endpoint has sent one JSON answer, a failure may say it is no chat API at all (`unusable`).
        self.answered = False
        self.on_timeout: Callable[[], None] | None = None  # the runner's, told before a timed-out request waits

    async def aclose(self) -> None:
        for server in self.servers:
            await server.aclose()

    async def check_reachable(self) -> None:
        """Raise `EndpointUnreachable` (one line) when no server of the fleet answers at all."""
        await check_reachable(self.servers)

    # -- one request, end to end -------------------------------------------------------------------------------

    def key(self, req: ChatRequest) -> str:
        """The journal key of ``req`` as this client sends it (its mode and sampling included)."""
        return req.key(self.writer.shape(req))

    def from_journal(self, req: ChatRequest) -> Result | None:
        """The result of ``req`` if an answer journaled for it (or for one of its re-asks) parses; sends nothing.

        An answer that did not parse is journaled (what was paid for is kept) but never final: the walk goes on to
        the re-ask it led to, and without one that parses, the request is to be sent.
        """
        if self.journal is None:
            return None
        key = self.key(req)
        last: Result | None = None
        for level in range(_LEVELS):
            _, vkey = self._level(req, key, level, last)
            answer = self.journal.get(vkey)
            if answer is None:
                return None
            last = self.accept(req, key, answer, attempts=0)
            if last.ok:
                last.cached = True
                return last
        return None

    async def complete(self, req: ChatRequest, slot: Slot | None = None) -> Result:
        """Get a parsed answer for ``req``: from the journal, else from the endpoint; never raises for the item.

        Journaled answers that did not parse are walked past (see `from_journal`); up to ``max_reasks`` + 1 requests
        are then sent, each re-ask a variant of the last (`_reask_variant`).

        ``slot`` is the caller's concurrency slot: it is given back as soon as the HTTP exchange ends, so the next
        request is on the wire while this answer is parsed and journaled (at high concurrency that overlap is the
        difference between ~90% and ~100% of the endpoint's rate).
        """
        key = self.key(req)
        attempts = 0
        paid: list[Answer] = []
        last: Result | None = None
        level = 0
        while len(paid) <= self.settings.max_reasks:
            variant, vkey = self._level(req, key, level, last)
            level += 1
            answer = self.journal.get(vkey) if self.journal is not None and level <= _LEVELS else None
            if answer is None:
                if slot is not None:
                    await slot.acquire()
                try:
                    answer, tries = await self._send(variant, vkey, slot)
                except RequestFailed as exc:
                    attempts += exc.attempts
                    return Result(
                        req, key, error=exc.kind, message=exc.message, attempts=attempts, paid=tuple(paid), fix=exc.fix
                    )
                finally:
                    if slot is not None:
                        slot.release()
                attempts += tries
                paid.append(answer)
                if self.journal is not None:
                    self.journal.add(answer)
            last = self.accept(req, key, answer, attempts)
            last.paid, last.cached = tuple(paid), not paid
            if last.ok:
                return last
        assert last is not None
        return last

    def _level(self, req: ChatRequest, key: str, level: int, last: Result | None) -> tuple[ChatRequest, str]:
        """The request asked at re-ask ``level`` (0: the request itself) and its journal key."""
        if level == 0:
            return req, key
        variant = _reask_variant(req, level, last, self.settings)
        return variant, self.key(variant)

    def shared(self, req: ChatRequest, key: str, first: Result) -> Result:
        """The result of ``req`` from ``first``, the result of an identical request sent in this run (nothing paid)."""
        if first.answer is None:
            return Result(req, key, error=first.error, message=first.message)
        result = self.accept(req, key, first.answer, attempts=0)
        result.cached = True
        return result

    def accept(self, req: ChatRequest, key: str, answer: Answer, attempts: int) -> Result:
        """The result ``answer`` makes for ``req``: its parsed value, or why it is not one."""
        if not answer.content.strip():
            return Result(
                req, key, answer=answer, error="empty", message="the model returned no text", attempts=attempts
            )
        if req.parse is None:
            return Result(req, key, value=answer.content, answer=answer, attempts=attempts)
        if req.cut_is_failure and answer.finish_reason == "length":
            message = f"the answer was cut off at max_tokens after {answer.completion_tokens} tokens"
            return Result(req, key, answer=answer, error="truncated", message=message, attempts=attempts)
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
            if not _worth_retrying(exc) or self.settings.max_retries == 0:
                raise _failed(exc, 1, self.settings.token_limit_field) from exc
            await pause(self._delay(exc, 1))
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.max_retries),
            wait=self._wait,
            retry=retry_if_exception(_worth_retrying),
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
            raise _failed(exc, tries, self.settings.token_limit_field) from exc
        raise RequestFailed("no_attempt", "no attempt was made", attempts=tries)  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        # tenacity counts from the first retry; the request's own count includes the first attempt
        return self._delay(state.outcome.exception() if state.outcome else None, state.attempt_number + 1)

    def _delay(self, exc: BaseException | None, attempt: int) -> float:
        """How long to wait after failed attempt number ``attempt``: the server's Retry-After, else a backoff."""
        if isinstance(exc, APITimeoutError) and self.on_timeout is not None:
            self.on_timeout()  # before the retry is queued (the runner may want fewer requests in flight), said now
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

    def use(self, capabilities: Capabilities, probed_in: Path | None = None) -> None:
        """Send what ``capabilities`` say the endpoint understands (found by a probe, cached in ``probed_in``)."""
        self.capabilities = capabilities
        self.probed_in = probed_in
        self.writer.use(capabilities.mode)

    def body(self, req: ChatRequest) -> dict[str, Any]:
        """The request's JSON body as this endpoint takes it (`BodyWriter`)."""
        return self.writer.body(req)

    def encode(self, body: dict[str, Any]) -> bytes:
        """The body's bytes, as the openai SDK encodes them."""
        return self.writer.encode(body)


def _worth_retrying(exc: BaseException) -> bool:
    """Retryable by its status or kind, unless the server refused a feature of the request (whatever the status)."""
    return is_retryable(exc) and refusal(exc) is None


def _failed(exc: APIError | BadResponse | Unusable, attempts: int, token_field: str) -> RequestFailed:
    """The final failure of a request; a refusal keeps the server's whole message and says what fixes it."""
    fix = refusal(exc, token_field)
    if fix is not None and isinstance(exc, APIStatusError):
        return RequestFailed(f"http_{exc.status_code}", redact(whole_message(exc)), attempts=attempts, fix=fix)
    kind, message = describe(exc)
    return RequestFailed(kind, message, attempts=attempts)


# A re-ask at temperature 0 is the same question asked the same way: a deterministic server gives the same answer back.
REASK_TEMPERATURE = 0.7
_LEVELS = 64  # journaled re-asks walked at most (each run adds at most max_reasks + 1 of them)


def _reask_variant(req: ChatRequest, level: int, last: Result | None, settings: EndpointSettings) -> ChatRequest:
    """The request asked again: another seed, some temperature if it had none, more room if it was cut off."""
    params = dict(req.params)
    params["seed"] = int(params.get("seed", 0) or 0) + 1000 * level
    if settings.temperature is not None and not params.get("temperature", settings.temperature):
        params["temperature"] = REASK_TEMPERATURE
    if last is not None and last.answer is not None and last.answer.finish_reason == "length":
        params["max_tokens"] = int(params.get("max_tokens", settings.max_tokens)) * 2
    return ChatRequest(
        item=req.item,
        messages=req.messages,
        schema=req.schema,
        schema_name=req.schema_name,
        prompt_version=req.prompt_version,
        params=params,
        parse=req.parse,
        meta=req.meta,
        cut_is_failure=req.cut_is_failure,
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
