"""Requests-per-minute and tokens-per-minute limits, configured or learned from `x-ratelimit-*` headers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping


class Bucket:
    """A token bucket refilled continuously at ``per_minute / 60`` units a second."""

    def __init__(self, per_minute: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, per_minute / 6.0)  # allow a ten-second burst, no more
        self.level = self.capacity
        self.stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def delay_for(self, amount: float) -> float:
        """Take ``amount`` and return how long to wait before using it (0 when available now)."""
        self._refill()
        self.level -= amount
        return 0.0 if self.level >= 0 else -self.level / self.rate


class RateLimiter:
    """Paces requests under RPM and TPM caps; caps left unset are learned from the server's headers."""

    def __init__(self, rpm: int | None, tpm: int | None) -> None:
        self._fixed_rpm = rpm is not None
        self._fixed_tpm = tpm is not None
        self.requests = Bucket(rpm) if rpm else None
        self.tokens = Bucket(tpm) if tpm else None

    @property
    def active(self) -> bool:
        """Whether any cap is in force (learned or configured)."""
        return self.requests is not None or self.tokens is not None

    async def acquire(self, tokens: int) -> None:
        """Wait until one request of about ``tokens`` tokens may be sent."""
        delay = 0.0
        if self.requests is not None:
            delay = max(delay, self.requests.delay_for(1))
        if self.tokens is not None:
            delay = max(delay, self.tokens.delay_for(min(tokens, self.tokens.capacity)))
        if delay > 0:
            await asyncio.sleep(delay)

    def learn(self, headers: Mapping[str, str]) -> None:
        """Adopt the server's advertised limits (only for caps not set in the config)."""
        if not self._fixed_rpm:
            limit = _number(headers.get("x-ratelimit-limit-requests"))
            if limit and (self.requests is None or abs(self.requests.rate * 60 - limit) > 0.5):
                self.requests = Bucket(limit)
        if not self._fixed_tpm:
            limit = _number(headers.get("x-ratelimit-limit-tokens"))
            if limit and (self.tokens is None or abs(self.tokens.rate * 60 - limit) > 0.5):
                self.tokens = Bucket(limit)


def _number(value: str | None) -> float | None:
    if not value:
        return None
    try:
        n = float(value)
    except ValueError:
        return None
    return n if n > 0 else None
