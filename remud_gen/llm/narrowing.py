"""Fewer requests in flight once one times out: the server is queueing them, not answering them side by side."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from remud_gen.llm.client import Client
    from remud_gen.llm.stats import RunStats


class Narrowing:
    """Fewer requests in flight once one times out: the server is queueing them, not answering them side by side.

    llama-cpp-python's server answers one request at a time: 26 requests sent at once (concurrency 64) waited up to
    26 answers long, those past timeout_s were abandoned and sent again, and the server worked through the abandoned
    copies too. After a timeout the bound drops to half of what the server answered per timeout_s so far (at least
    one): each request then waits for about its own answer. Slots are taken away by holding them, so requests that
    never time out pay nothing for this.
    """

    def __init__(self, client: Client, slots: asyncio.Semaphore, stats: RunStats) -> None:
        self.client = client
        self.slots = slots
        self.capacity = client.settings.concurrency
        self.timeout_s = client.settings.timeout_s
        self.stats = stats
        self.held: list[asyncio.Future[bool]] = []

    def __enter__(self) -> Narrowing:
        return self

    def __exit__(self, *exc: object) -> None:
        for held in self.held:
            held.cancel()

    def see_timeout(self) -> None:
        """A request got no answer within timeout_s (the runner's `Client.on_timeout` calls this)."""
        elapsed = max(time.monotonic() - self.stats.started, 1e-6)
        answered = self.stats.done - self.stats.cached
        target = max(1, int(answered / elapsed * self.timeout_s / 2))
        while self.capacity > target:
            self.capacity -= 1
            self.held.append(asyncio.ensure_future(self.slots.acquire()))
