"""Running many requests: streaming dispatch under a concurrency bound, budgets, Ctrl-C, live accounting (`stats.py`).

Requests are dispatched as slots free up (never in waves that wait for the slowest), answers already in the journal
are resolved without sending, and the first Ctrl-C stops dispatching while in-flight requests get `grace_s` to finish
and be journaled; a second Ctrl-C (or the end of the grace period) abandons them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import time
from collections.abc import Callable, Iterable, Iterator

from remud_gen.llm.client import Client, Result, Slot
from remud_gen.llm.exchange_errors import auth_message, is_auth_failure
from remud_gen.llm.narrowing import Narrowing
from remud_gen.llm.request import ChatRequest
from remud_gen.llm.settings import EndpointSettings
from remud_gen.llm.stats import Budget, RunStats, usage_of
from remud_gen.records import Usage

Progress = Callable[[RunStats], None]


async def run_requests(
    client: Client,
    requests: Iterable[ChatRequest],
    on_result: Callable[[Result, Usage], None],
    *,
    total: int,
    budget: Budget | None = None,
    progress: Progress | None = None,
) -> RunStats:
    """Resolve every request, calling ``on_result`` once per request in completion order.

    Args:
        client: the model client (its journal decides what is sent).
        requests: the requests, consumed lazily so 100k of them need not be in memory at once.
        on_result: receives each result and the usage it cost (zero for journaled answers).
        total: how many requests ``requests`` holds, for the progress bar.
        budget: optional stop conditions.
        progress: called after every result with the running totals.
    """
    settings: EndpointSettings = client.settings
    price = settings.prices.get(settings.model)
    budget = budget or Budget()
    stats = RunStats(total=total)
    stop = asyncio.Event()
    hard_stop = asyncio.Event()
    slots = asyncio.Semaphore(settings.concurrency)
    inflight: set[asyncio.Task[None]] = set()

    streak = _Streak()
    narrowing = Narrowing(client, slots, stats)

    def finish(result: Result) -> None:
        used = usage_of(result, price)
        stats.done += 1
        stats.usage = stats.usage + used
        stats.cached += result.cached
        if result.ok:
            stats.ok += 1
        else:
            stats.failed += 1
            stats.errors[result.error or "error"] = stats.errors.get(result.error or "error", 0) + 1
        streak.see(result)
        if not result.ok and not stop.is_set():
            reason = _stop_at_once(result, settings)
            if result.fix is not None:
                # a refused feature is refused for every request: one is enough to know, and none is retried
                stats.refused = True
                reason = f"the endpoint refused the request ({result.error}: {result.message}); {result.fix}"
            elif reason is None and streak.broken:
                reason = f"{STREAK} requests in a row failed with {result.error}: {result.message}{_hint(result)}"
            if reason is not None:
                stop.set()
                stats.stopped = "endpoint"
                stats.stop_reason = reason
        stats.sent, stats.retries = client.sent, client.retries
        stats.elapsed = time.monotonic() - stats.started
        on_result(result, used)
        if progress is not None:
            progress(stats)

    # Requests on the wire by key, with the identical requests that came after them: those are not sent again
    # (one payment per body and run) but wait for the first one's answer.
    waiting: dict[str, list[ChatRequest]] = {}

    async def work(req: ChatRequest, key: str) -> None:
        slot = Slot(slots, held=True)  # the dispatcher acquired it
        try:
            try:
                result = await client.complete(req, slot)
            except Exception as exc:  # a bug or an unforeseen server reply must fail the item, never lose it
                result = Result(req, "", error=type(exc).__name__, message=str(exc)[:500] or type(exc).__name__)
            finish(result)
            for copy in waiting.pop(key, ()):
                finish(client.shared(copy, key, result))
        finally:
            waiting.pop(key, None)
            slot.release()

    def timed_out() -> None:
        narrowing.see_timeout()
        stats.timeouts += 1
        if stats.timeouts in _TOLD_AT:
            stats.notices.append(
                f"{stats.timeouts} request(s) got no answer within {settings.timeout_s:g} s (endpoint.timeout_s) and "
                "are sent again; a slow model needs a larger endpoint.timeout_s"
            )
            if progress is not None:
                progress(stats)

    client.on_timeout = timed_out

    def on_sigint() -> None:
        if stop.is_set():
            hard_stop.set()
        stop.set()
        stats.stopped = "interrupted"

    loop = asyncio.get_running_loop()
    checked = False
    with _quiet_gc(), _signal_handler(loop, on_sigint), narrowing:
        dispatched = 0
        turn = loop.time()  # when the dispatcher last gave the loop to the requests it created
        for req in requests:
            if stop.is_set():
                break
            if budget.limit is not None and dispatched >= budget.limit:
                stats.stopped = "limit"
                break
            if budget.max_cost is not None and stats.usage.cost >= budget.max_cost:
                stats.stopped = "max-cost"
                break
            dispatched += 1
            key = req.key(settings.model)
            copies = waiting.get(key)
            if copies is not None:
                copies.append(req)
                continue
            cached = client.from_journal(req)
            if cached is not None:
                finish(cached)
                continue
            if not checked:
                # one cheap look before the first paid request: a wrong URL fails in a second, not after retries
                await client.check_reachable()
                checked = True
            waited = slots.locked()
            await slots.acquire()
            if waited:
                turn = loop.time()
            if stop.is_set():
                slots.release()
                break
            waiting[key] = []
            task = loop.create_task(work(req, key))
            inflight.add(task)
            task.add_done_callback(inflight.discard)
            if loop.time() - turn > _TURN_S:
                await asyncio.sleep(0)
                turn = loop.time()
        if inflight:
            await _drain(inflight, stop, hard_stop, settings.grace_s)
    stats.elapsed = time.monotonic() - stats.started
    return stats


STREAK = 20
_TOLD_AT = frozenset({1, 10, 100, 1000, 10_000})  # timeouts are told as they happen, but not each one
# The dispatcher builds requests for at most this long before letting the ones it created start. A request's bytes
# leave in its task's first step, so building a whole wave of 256 first (~80 ms) delayed every byte of it and kept the
# server's work from overlapping ours; yielding after every request instead made each dispatch wait for a full turn
# of the loop (every answer ready in it parsed first), which at high load starved the free slots.
_TURN_S = 0.001
_CONFIG_ERRORS = frozenset({"http_400", "http_401", "http_403", "http_404"})


def _stop_at_once(result: Result, settings: EndpointSettings) -> str | None:
    """Why one failure stops the stage: a refused key, or an endpoint that is no chat API (`errors.unusable`)."""
    if result.error in _UNUSABLE:
        return result.message
    if is_auth_failure(result.error, result.message):
        return auth_message(", ".join(settings.base_url), f"{result.error}: {result.message}", settings.api_key_env)
    return None


_UNUSABLE = frozenset({"not_openai", "no_answer"})


def _hint(result: Result) -> str:
    """What to change for the usual causes of a run of identical 4xx answers."""
    message = result.message.lower()
    if result.error == "http_404" and "model" not in message:
        return " (check endpoint.base_url: the server has no chat/completions there; most serve it under /v1)"
    if result.error == "http_404" or "model" in message:
        return " (check endpoint.model / --model against the server's GET /models)"
    if result.error in ("http_401", "http_403"):
        return " (check the API key in the variable named by endpoint.api_key_env)"
    return ""


class _Streak:
    """Consecutive identical failures that say the setup is wrong (bad model name, key, unsupported parameter).

    One such failure belongs to its item; twenty in a row belong to the configuration, and every further request
    would fail (and may be billed) the same way, so the run stops and says why.
    """

    def __init__(self) -> None:
        self.kind: str | None = None
        self.count = 0

    def see(self, result: Result) -> None:
        if result.ok or result.cached or result.error not in _CONFIG_ERRORS:
            self.kind, self.count = None, 0
        elif result.error == self.kind:
            self.count += 1
        else:
            self.kind, self.count = result.error, 1

    @property
    def broken(self) -> bool:
        return self.count >= STREAK


async def _drain(
    inflight: set[asyncio.Task[None]], stop: asyncio.Event, hard_stop: asyncio.Event, grace_s: float
) -> None:
    """Wait for in-flight requests; after a stop, only for the grace period or until a second Ctrl-C."""
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while inflight and not stop.is_set():
            await asyncio.wait({*inflight, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if not inflight:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace_s
    hard = asyncio.ensure_future(hard_stop.wait())
    try:
        while inflight and not hard_stop.is_set() and loop.time() < deadline:
            await asyncio.wait({*inflight, hard}, timeout=deadline - loop.time(), return_when=asyncio.FIRST_COMPLETED)
    finally:
        hard.cancel()
    for task in list(inflight):
        task.cancel()
    await asyncio.gather(*inflight, return_exceptions=True)


@contextlib.contextmanager
def _quiet_gc() -> Iterator[None]:
    """Keep the cyclic garbage collector from stalling the event loop during a run.

    Everything built before the run (units, prompts, request generators) lives until its end: freezing it keeps the
    collector's full passes from re-walking it, which stalled the event loop for up to 0.2 s at a time. Only the
    young generations are swept first: a full pass here took ~50 ms of the run and found nothing to free, and any
    older garbage frozen with the rest is swept after `unfreeze` at the end.

    The youngest generation is also swept less often. Answers die by reference count; what a pass every 700 net
    allocations found was the requests in flight, walked again each time: at concurrency 256 over the SDK that was
    ~170 passes of ~0.3 ms, and ~0.12 s of the loop with the older passes they set off, per 3,000 requests (measured;
    ~0.01 s at 10,000).
    """
    gc.collect(1)
    gc.freeze()
    threshold = gc.get_threshold()
    gc.set_threshold(10_000, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


@contextlib.contextmanager
def _signal_handler(loop: asyncio.AbstractEventLoop, handler: Callable[[], None]) -> Iterator[None]:
    try:
        loop.add_signal_handler(signal.SIGINT, handler)
        installed = True
    except (NotImplementedError, RuntimeError, ValueError):
        installed = False  # not the main thread (tests) or no signal support
    try:
        yield
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGINT)
