"""Rolling one-minute request and token budgets, reported as OpenAI's x-ratelimit-* headers."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

_WINDOW_S = 60.0


class RateWindow:
    """Counts requests and tokens over the last minute and says when a new request must wait.

    Args:
        max_requests: requests allowed per rolling minute.
        max_tokens: tokens (prompt + completion) allowed per rolling minute.
        clock: monotonic seconds; injectable so tests need not wait a minute.
    """

    def __init__(self, max_requests: int, max_tokens: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_requests = max_requests
        self.max_tokens = max_tokens
        self.clock = clock
        self._requests: deque[float] = deque()
        self._tokens: deque[tuple[float, int]] = deque()
        self._token_sum = 0

    def admit(self, tokens: int) -> float | None:
        """Record a request costing `tokens` and return None, or return the seconds it must wait instead."""
        now = self._expire()
        if len(self._requests) >= self.max_requests:
            return self._requests[0] + _WINDOW_S - now
        if self._tokens and self._token_sum + tokens > self.max_tokens:
            return self._tokens[0][0] + _WINDOW_S - now
        self._requests.append(now)
        self.spend(tokens)
        return None

    def spend(self, tokens: int) -> None:
        """Count `tokens` more (the completion, once it is known) against the token budget."""
        if tokens > 0:
            self._tokens.append((self.clock(), tokens))
            self._token_sum += tokens

    def headers(self) -> dict[str, str]:
        """The x-ratelimit-* headers as OpenAI sends them (reset times like "1s", "6m0s", "20ms")."""
        now = self._expire()
        reset_requests = self._requests[0] + _WINDOW_S - now if self._requests else 0.0
        reset_tokens = self._tokens[0][0] + _WINDOW_S - now if self._tokens else 0.0
        return {
            "x-ratelimit-limit-requests": str(self.max_requests),
            "x-ratelimit-remaining-requests": str(max(0, self.max_requests - len(self._requests))),
            "x-ratelimit-reset-requests": duration(reset_requests),
            "x-ratelimit-limit-tokens": str(self.max_tokens),
            "x-ratelimit-remaining-tokens": str(max(0, self.max_tokens - self._token_sum)),
            "x-ratelimit-reset-tokens": duration(reset_tokens),
        }

    def _expire(self) -> float:
        now = self.clock()
        edge = now - _WINDOW_S
        while self._requests and self._requests[0] <= edge:
            self._requests.popleft()
        while self._tokens and self._tokens[0][0] <= edge:
            self._token_sum -= self._tokens.popleft()[1]
        return now


def duration(seconds: float) -> str:
    """Format a wait the way OpenAI's reset headers do: "20ms", "1.5s", "6m0s"."""
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))}ms"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:.0f}s" if minutes else f"{rest:.3g}s"
