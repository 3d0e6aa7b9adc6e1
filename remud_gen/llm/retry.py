"""Where a retry happens: what is sent again, how long it waits first, and the failure a request ends with.

Sent again: 408, 409, 429, 5xx, timeouts, dropped connections and garbled bodies (`errors.is_retryable`), never a
feature the server refused (`refusal.py`). The wait is the server's Retry-After (capped), else exponential backoff
with full jitter; tenacity runs the retries.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from remud_gen.llm.exchange_errors import (
    APIError,
    APIStatusError,
    BadResponse,
    RequestFailed,
    Unusable,
    backoff,
    describe,
    retry_after,
    whole_message,
)
from remud_gen.llm.refusal import refusal, worth_retrying
from remud_gen.llm.settings import EndpointSettings
from remud_gen.redact import redact

T = TypeVar("T")


async def send_with_retries(
    once: Callable[[], Awaitable[T]],
    settings: EndpointSettings,
    pause: Callable[[float], Awaitable[None]],
    delay: Callable[[BaseException | None, int], float],
    retried: Callable[[], None],
) -> tuple[T, int]:
    """``once`` (one HTTP attempt) until it succeeds or may not be retried; its result and the attempts it took.

    Args:
        once: one attempt.
        settings: ``max_retries`` and the token limit field (named in a refusal's fix).
        pause: waits the given seconds (the caller's slot may go to other requests meanwhile).
        delay: the seconds to wait after a failure and the number of the attempt that failed (`wait_s`, or the
            caller's wrapper of it).
        retried: told before each retry.

    Raises:
        RequestFailed: the last failure, as failures.jsonl records it.
    """
    # Most requests succeed at once, so the first attempt goes without tenacity's per-attempt machinery (~50 us of
    # event-loop time a request, measured); a retryable failure waits as asked, then tenacity runs the retries.
    try:
        return await once(), 1
    except (APIError, BadResponse, Unusable) as exc:
        if not worth_retrying(exc) or settings.max_retries == 0:
            raise final_failure(exc, 1, settings.token_limit_field) from exc
        await pause(delay(exc, 1))

    def wait(state: RetryCallState) -> float:
        # tenacity counts from the first retry; the request's own count includes the first attempt
        return delay(state.outcome.exception() if state.outcome else None, state.attempt_number + 1)

    retrying = AsyncRetrying(
        stop=stop_after_attempt(settings.max_retries),
        wait=wait,
        retry=retry_if_exception(worth_retrying),
        reraise=True,
        sleep=pause,
    )
    tries = 1
    try:
        async for attempt in retrying:
            with attempt:
                tries += 1
                retried()
                return await once(), tries
    except (APIError, BadResponse, Unusable) as exc:
        raise final_failure(exc, tries, settings.token_limit_field) from exc
    raise RequestFailed("no_attempt", "no attempt was made", attempts=tries)  # pragma: no cover


def wait_s(exc: BaseException | None, attempt: int, settings: EndpointSettings) -> float:
    """How long to wait after failed attempt number ``attempt``: the server's Retry-After, else a backoff."""
    asked = retry_after(exc) if exc else None
    if asked is not None:
        return min(asked, settings.backoff_max_s * 5)
    return backoff(attempt, settings.backoff_base_s, settings.backoff_max_s)


def final_failure(exc: APIError | BadResponse | Unusable, attempts: int, token_field: str) -> RequestFailed:
    """The final failure of a request; a refusal keeps the server's whole message and says what fixes it."""
    fix = refusal(exc, token_field)
    if fix is not None and isinstance(exc, APIStatusError):
        return RequestFailed(f"http_{exc.status_code}", redact(whole_message(exc)), attempts=attempts, fix=fix)
    kind, message = describe(exc)
    return RequestFailed(kind, message, attempts=attempts)
