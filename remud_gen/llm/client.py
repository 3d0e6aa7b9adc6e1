"""The one model client: every stage that calls a model (synthesize, judge, eval, the VLM detector) uses it.

`Client.complete` sends one `ChatRequest` to the least-busy healthy server of the fleet (`fleet.py`), retries what
can succeed (`retry.py`: the server's `Retry-After` wins, else backoff with jitter), fails at once on what cannot
(400, 401, 403, 404, 413, 422, and a refused request feature whatever its status: `refusal.py`), repairs or re-asks a
cut-off or unparseable answer (`reask.py`), and journals every answer it paid for. How a request's body is written for
its endpoint (structured-output mode, string content) is `body.py`'s; how a 200 is read, `completion.py`'s.

Chat requests go out through the openai SDK's public API over its aiohttp transport (`transport: sdk`, the default;
`sdk.py`), or on a plain aiohttp session with the same URL, key and JSON (`transport: aiohttp`: ~0.23 ms of event-loop
CPU a request against the SDK's ~0.65 ms, `bench/driver.py`, and no SDK import, ~0.6 s of start-up). Either way
failures come out as `exchange_errors.py`'s exceptions, so retries, Retry-After and failure records do not depend on the
transport.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from remud_gen.llm.body import BodyWriter
from remud_gen.llm.completion import answer_of
from remud_gen.llm.exchange_errors import (
    APIError,
    APITimeoutError,
    BadResponse,
    RequestFailed,
    Unusable,
    glimpse,
    is_connection_failure,
    unusable,
)
from remud_gen.llm.fleet import Server, check_reachable
from remud_gen.llm.journal import Answer, Journal
from remud_gen.llm.ratelimit import RateLimiter
from remud_gen.llm.reask import LEVELS, reask_variant
from remud_gen.llm.request import ChatRequest, estimate_tokens
from remud_gen.llm.result import Result, Slot
from remud_gen.llm.retry import send_with_retries, wait_s
from remud_gen.llm.settings import EndpointSettings

if TYPE_CHECKING:
    from remud_gen.llm.probe import Capabilities


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
        for level in range(LEVELS):
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
        are then sent, each re-ask a variant of the last (`reask.reask_variant`).

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
            answer = self.journal.get(vkey) if self.journal is not None and level <= LEVELS else None
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
        variant = reask_variant(req, level, last, self.settings)
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

        return await send_with_retries(lambda: self._once(req, key), self.settings, pause, self._delay, self._retried)

    def _retried(self) -> None:
        self.retries += 1

    def _delay(self, exc: BaseException | None, attempt: int) -> float:
        """`retry.wait_s`, the runner told first of a timeout (it may want fewer requests in flight)."""
        if isinstance(exc, APITimeoutError) and self.on_timeout is not None:
            self.on_timeout()
        return wait_s(exc, attempt, self.settings)

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
        return answer_of(key, req.item, body)

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
