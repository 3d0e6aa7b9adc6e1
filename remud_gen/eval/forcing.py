"""Budget forcing as ReMUD did it: a thinking trace that ends too early is cut, "Wait" is appended, the model
goes on.

Each round asks, for every sample whose trace is still shorter than `min_tokens`, the same conversation plus
an assistant message ``<think>{trace}{wait}`` that the endpoint must continue rather than answer anew: vLLM
and SGLang do so with ``continue_final_message: true, add_generation_prompt: false``. An endpoint that refuses
the parameter (OpenAI answers 400) or ignores it (its reply opens a new ``<think>``) stops the run with one
line saying so. Rounds are journaled like any request, so a re-run sends nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from remud_gen.errors import ConfigError
from remud_gen.llm.client import Client, Result
from remud_gen.llm.dispatch import resolve_all
from remud_gen.llm.request import ChatRequest, Message, estimate_tokens
from remud_gen.llm.runner import Budget, RunStats
from remud_gen.records import Usage

CONTINUE = {"continue_final_message": True, "add_generation_prompt": False}
_THINK_RE = re.compile(r"<think>(.*?)(?:</think>|\Z)", re.DOTALL)
_REFUSAL_RE = re.compile(r"continue_final_message|add_generation_prompt|unrecognized|not permitted|extra", re.I)


@dataclass
class SampleOutput:
    """What one sample of one question came to: the full answer text, or the failure of its request."""

    text: str | None = None
    error: str | None = None
    waits: int = 0
    reasoning_field: bool = False  # the endpoint returned the trace in reasoning_content, outside the text


class ContinuingClient(Client):
    """The model client, sending the extra body keys a request carries in ``params["extra_body"]``."""

    def body(self, req: ChatRequest) -> dict[str, Any]:
        body = super().body(req)
        body.update(req.params.get("extra_body") or {})
        return body


def trace_of(text: str) -> str | None:
    """The thinking trace inside ``<think>`` (to the end when it is never closed), or None without one."""
    match = _THINK_RE.search(text)
    return match.group(1) if match else None


def force(
    outputs: dict[tuple[str, int], SampleOutput],
    requests: dict[tuple[str, int], ChatRequest],
    wait_word: Callable[[tuple[str, int]], str],
    min_tokens: int,
    max_waits: int,
    make_client: Callable[[], Client],
    budget: Budget | None = None,
    progress: Callable[[str, int], Any] | None = None,
) -> list[RunStats]:
    """Continue short traces, round after round, updating ``outputs`` in place.

    Args:
        outputs: each sample's answer so far, by (item id, sample index).
        requests: the request each sample was first asked with.
        wait_word: the word appended to a sample's trace (by its question's language).
        min_tokens: traces this long (estimated tokens) are left alone.
        max_waits: rounds at most.
        make_client: a fresh client per round (a round closes its client).
        budget, progress: as for `resolve_all`.

    Raises:
        ConfigError: the endpoint does not continue an assistant message.
    """
    rounds: list[RunStats] = []
    for number in range(1, max_waits + 1):
        this = _Round(number, outputs)
        asks = []
        for key, out in sorted(outputs.items()):
            trace = trace_of(out.text) if out.text is not None and out.error is None else None
            if trace is None or estimate_tokens(trace) >= min_tokens:
                continue
            prefix = f"<think>{trace.rstrip()}{wait_word(key)}"
            ask = _continuation(requests[key], prefix, number)
            this.todo[ask.item] = (key, prefix)
            asks.append(ask)
        if not asks:
            break
        description = f"eval: wait {number}"
        stats = resolve_all(
            make_client(),
            asks,
            this.on_result,
            total=len(asks),
            description=description,
            budget=budget,
            progress=progress,
        )
        rounds.append(stats)
        if this.refused:
            raise ConfigError(
                "eval.budget_forcing needs an endpoint that continues an assistant message (vLLM or SGLang "
                f"with continue_final_message); this one does not ({this.refused[0]}); "
                "set eval.budget_forcing.enabled: false"
            )
        if stats.stopped:
            break
    return rounds


@dataclass
class _Round:
    """One round of continuations: which sample each request continues, and any sign the endpoint cannot."""

    number: int
    outputs: dict[tuple[str, int], SampleOutput]
    todo: dict[str, tuple[tuple[str, int], str]] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)

    def on_result(self, result: Result, usage: Usage) -> None:
        key, prefix = self.todo[result.request.item]
        out = self.outputs[key]
        if not result.ok:
            out.error = f"{result.error}: {result.message} (budget forcing round {self.number})"
            if result.error == "http_400" and _REFUSAL_RE.search(result.message):
                self.refused.append(result.message)
            return
        text = str(result.value)
        if text.lstrip().startswith("<think>"):
            self.refused.append("it answered anew instead of continuing the assistant message")
        out.text, out.waits = prefix + text, out.waits + 1


def _continuation(req: ChatRequest, prefix: str, round_no: int) -> ChatRequest:
    return ChatRequest(
        item=f"{req.item}/wait{round_no}",
        messages=[*req.messages, Message("assistant", prefix)],
        params={**req.params, "extra_body": CONTINUE},
        meta=req.meta,
    )
