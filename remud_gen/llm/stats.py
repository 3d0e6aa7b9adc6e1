"""Counts and money of a stage's model calls: the running totals, what a result cost, a budget, a --dry-run estimate."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from remud_gen.llm.request import ChatRequest, estimate_tokens
from remud_gen.llm.result import Result
from remud_gen.llm.settings import Price
from remud_gen.records import Usage

if TYPE_CHECKING:
    from remud_gen.llm.client import Client


@dataclass
class RunStats:
    """Counts and money for one stage's model calls."""

    total: int = 0
    done: int = 0
    ok: int = 0
    failed: int = 0
    cached: int = 0
    sent: int = 0
    retries: int = 0
    usage: Usage = field(default_factory=Usage)
    started: float = field(default_factory=time.monotonic)
    elapsed: float = 0.0
    stopped: str | None = None  # "interrupted", "limit", "max-cost" or "endpoint" when the run ended early
    stop_reason: str = ""  # for "endpoint": the server's own words
    refused: bool = False  # the endpoint refused a feature of a request (what a probe found may be stale)
    errors: dict[str, int] = field(default_factory=dict)
    timeouts: int = 0  # attempts that got no answer within timeout_s (and were retried)
    notices: list[str] = field(default_factory=list)  # for the user while the run goes on

    def merge(self, other: RunStats) -> RunStats:
        """These totals with ``other``'s added (a stage of two passes reports one set)."""
        self.total += other.total
        self.done += other.done
        self.ok += other.ok
        self.failed += other.failed
        self.cached += other.cached
        self.sent += other.sent
        self.retries += other.retries
        self.usage = self.usage + other.usage
        self.elapsed += other.elapsed
        self.timeouts += other.timeouts
        self.notices += other.notices
        self.stopped = self.stopped or other.stopped
        self.stop_reason = self.stop_reason or other.stop_reason
        self.refused = self.refused or other.refused
        for kind, n in other.errors.items():
            self.errors[kind] = self.errors.get(kind, 0) + n
        return self

    def as_dict(self) -> dict[str, object]:
        return {
            "requests": self.done,
            "ok": self.ok,
            "failed": self.failed,
            "from_journal": self.cached,
            "http_attempts": self.sent,
            "retries": self.retries,
            "prompt_tokens": self.usage.prompt_tokens,
            "completion_tokens": self.usage.completion_tokens,
            "cached_tokens": self.usage.cached_tokens,
            "cost_usd": round(self.usage.cost, 6),
            "seconds": round(self.elapsed, 3),
            "stopped": self.stopped,
            "errors": self.errors,
            "timeouts": self.timeouts,
        }


def cost_of(prompt: int, completion: int, cached: int, price: Price | None) -> float:
    """Dollar cost of one request's tokens under ``price`` (0 when the model has no price)."""
    if price is None:
        return 0.0
    cached_price = price.cached if price.cached is not None else price.prompt
    return ((prompt - cached) * price.prompt + cached * cached_price + completion * price.completion) / 1e6


def usage_of(result: Result, price: Price | None) -> Usage:
    """What ``result`` cost this run: every answer it was sent (re-asks too), none read back from the journal."""
    if not result.paid:
        return Usage()
    prompt = sum(a.prompt_tokens for a in result.paid)
    completion = sum(a.completion_tokens for a in result.paid)
    cached = sum(a.cached_tokens for a in result.paid)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=cached,
        cost=cost_of(prompt, completion, cached, price),
    )


@dataclass
class Budget:
    """Where a stage stops early and cleanly."""

    limit: int | None = None
    max_cost: float | None = None


def estimate(requests: Iterable[ChatRequest], client: Client) -> tuple[int, int, int, float]:
    """For --dry-run: requests to send (not journaled), estimated prompt and completion tokens, and cost."""
    s = client.settings
    n = prompt = completion = 0
    for req in requests:
        if client.from_journal(req) is not None:
            continue
        n += 1
        prompt += estimate_tokens(req.text_chars()) + req.image_count() * min(1280, s.image_max_pixels // 784)
        completion += int(req.params.get("max_tokens", s.max_tokens)) // 2
    return n, prompt, completion, cost_of(prompt, completion, 0, s.prices.get(s.model))
