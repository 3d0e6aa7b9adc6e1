"""One entry point for a stage: resolve its requests live or through the Batch API, with a progress bar."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import Any

from remud_gen.llm.client import Client, Result
from remud_gen.llm.request import ChatRequest
from remud_gen.llm.runner import run_requests
from remud_gen.llm.stats import Budget, RunStats, estimate
from remud_gen.records import Usage
from remud_gen.report import StageReport


def resolve_all(
    client: Client,
    requests: Iterable[ChatRequest],
    on_result: Callable[[Result, Usage], None],
    *,
    total: int,
    description: str,
    budget: Budget | None = None,
    progress: Callable[[str, int], Any] | None = None,
    batch: bool = False,
) -> RunStats:
    """Run every request to a result (blocking), then close the client.

    Args:
        client: the model client.
        requests: the requests (consumed lazily in live mode).
        on_result: called once per request with its result and what it cost.
        total: how many requests there are, for the progress bar.
        description: the progress bar's label.
        budget: --limit / --max-cost.
        progress: a context-manager factory `(description, total) -> callback(RunStats)`.
        batch: use the OpenAI Batch API instead of live requests.
    """

    async def go() -> RunStats:
        bar = progress(description, total) if progress else contextlib.nullcontext(None)
        try:
            with bar as update:
                if batch:
                    from remud_gen.llm.batch import run_batch

                    return await run_batch(
                        client,
                        requests,
                        on_result,
                        total=total,
                        budget=budget,
                        poll_s=client.settings.batch_poll_s,
                        progress=update,
                    )
                return await run_requests(client, requests, on_result, total=total, budget=budget, progress=update)
        finally:
            await client.aclose()

    stats = asyncio.run(go())
    if stats.refused and client.probed_in is not None:
        from remud_gen.llm.capabilities import forget

        forget(client.probed_in, client.settings)  # what the probe found did not hold: the next run probes again
    return stats


def price_without_sending(client: Client, requests: Iterable[ChatRequest], report: StageReport) -> StageReport:
    """--dry-run: put how many requests would be sent, their estimated tokens and cost in ``report``; send nothing."""
    n, prompt, completion, cost = estimate(requests, client)
    asyncio.run(client.aclose())
    report.extra = {"would_send": n, "est_prompt_tokens": prompt, "est_completion_tokens": completion}
    report.usage = Usage(prompt_tokens=prompt, completion_tokens=completion, cost=cost)
    return report
