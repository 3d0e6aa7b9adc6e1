"""What became of one request (`Result`), and the unit of concurrency a request holds while it is on the wire."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from remud_gen.llm.journal import Answer
from remud_gen.llm.request import ChatRequest
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
