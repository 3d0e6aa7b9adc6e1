"""OpenAI Batch API mode (`--batch`): half the price, answers within 24 h, same journal.

The requests not yet journaled are written (in memory: image data never touches our disk) as one or more batch input
files, uploaded, and run as batches; each batch id goes into the journal at once, so an interrupted run picks the same
batches up again instead of paying for new ones. Finished batches are downloaded and mapped back to items by
`custom_id` (the request's journal key); answers are journaled exactly as live answers are.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from typing import Any, Final

import openai

from remud_gen.errors import EndpointStatusError
from remud_gen.llm.client import Client, Result
from remud_gen.llm.completion import answer_of
from remud_gen.llm.request import ChatRequest
from remud_gen.llm.stats import Budget, RunStats, usage_of
from remud_gen.records import Usage

ENDPOINT: Final = "/v1/chat/completions"
_DONE = frozenset({"completed", "failed", "expired", "cancelled"})


async def run_batch(
    client: Client,
    requests: Iterable[ChatRequest],
    on_result: Callable[[Result, Usage], None],
    *,
    total: int,
    budget: Budget | None = None,
    poll_s: float = 30.0,
    max_requests: int = 50_000,
    max_bytes: int = 190 * 1024 * 1024,
    progress: Callable[[RunStats], None] | None = None,
) -> RunStats:
    """Resolve every request through the Batch API (journaled answers are not sent again)."""
    journal = client.journal
    if journal is None:
        raise ValueError("batch mode needs a journal to remember its batch ids")
    settings = client.settings
    price = settings.prices.get(settings.model)
    stats = RunStats(total=total)
    pending: dict[str, ChatRequest] = {}
    copies: dict[str, list[ChatRequest]] = {}  # identical requests: sent once, answered from the first's result
    reported: set[str] = set()

    def finish(result: Result) -> None:
        reported.add(result.key)
        used = usage_of(result, price)
        stats.done += 1
        stats.usage = stats.usage + used
        stats.cached += result.cached
        stats.ok += result.ok
        if not result.ok:
            stats.failed += 1
            stats.errors[result.error or "error"] = stats.errors.get(result.error or "error", 0) + 1
        stats.elapsed = time.monotonic() - stats.started
        on_result(result, used)
        if progress is not None:
            progress(stats)
        for copy in copies.pop(result.key, ()):
            finish(client.shared(copy, result.key, result))

    for i, req in enumerate(requests):
        if budget and budget.limit is not None and i >= budget.limit:
            stats.stopped = "limit"
            break
        cached = client.from_journal(req)
        key = client.key(req)
        if cached is not None:
            finish(cached)
        elif key in pending:
            copies.setdefault(key, []).append(req)
        else:
            pending[key] = req
    sdk = client.servers[0].sdk
    known: list[str] = list(journal.meta.get("batches", []))
    covered: set[str] = set()
    for batch_id in known:
        covered |= set(journal.meta.get(f"batch:{batch_id}", []))
    fresh = [k for k in pending if k not in covered]
    for part in _parts(fresh, pending, client, max_requests, max_bytes):
        batch_id = await _submit(sdk, part, client)
        known.append(batch_id)
        journal.set_meta(batches=known, **{f"batch:{batch_id}": [k for k, _ in part]})
    try:
        for batch_id in known:
            await _collect(sdk, batch_id, pending, client, finish, poll_s)
            known = [b for b in known if b != batch_id]
            journal.set_meta(batches=known)
    except asyncio.CancelledError:
        stats.stopped = "interrupted"
        raise
    for key, req in pending.items():
        if key not in reported:
            finish(Result(req, key, error="batch_missing", message="the batch returned no answer for this request"))
    stats.elapsed = time.monotonic() - stats.started
    return stats


def _parts(
    keys: list[str], pending: dict[str, ChatRequest], client: Client, max_requests: int, max_bytes: int
) -> Iterable[list[tuple[str, bytes]]]:
    """Batch input lines, cut into files under the Batch API's request and size limits."""
    part: list[tuple[str, bytes]] = []
    size = 0
    for key in keys:
        body = client.body(pending[key])
        line = json.dumps({"custom_id": key, "method": "POST", "url": ENDPOINT, "body": body}, ensure_ascii=False)
        data = line.encode("utf-8") + b"\n"
        if part and (len(part) >= max_requests or size + len(data) > max_bytes):
            yield part
            part, size = [], 0
        part.append((key, data))
        size += len(data)
    if part:
        yield part


async def _submit(sdk: openai.AsyncOpenAI, part: list[tuple[str, bytes]], client: Client) -> str:
    payload = b"".join(data for _, data in part)
    try:
        uploaded = await sdk.files.create(file=("remud-batch.jsonl", payload), purpose="batch")
        batch = await sdk.batches.create(input_file_id=uploaded.id, endpoint=ENDPOINT, completion_window="24h")
    except openai.APIStatusError as exc:
        raise EndpointStatusError(exc.status_code, f"the endpoint refused the batch: {exc.message}") from exc
    return str(batch.id)


async def _collect(
    sdk: openai.AsyncOpenAI,
    batch_id: str,
    pending: dict[str, ChatRequest],
    client: Client,
    finish: Callable[[Result], None],
    poll_s: float,
) -> None:
    batch = await sdk.batches.retrieve(batch_id)
    while batch.status not in _DONE:
        await asyncio.sleep(poll_s)
        batch = await sdk.batches.retrieve(batch_id)
    journal = client.journal
    assert journal is not None
    for file_id in (batch.output_file_id, batch.error_file_id):
        if not file_id:
            continue
        content = await sdk.files.content(file_id)
        for raw in content.text.splitlines():
            line = _line(raw)
            key = str(line.get("custom_id", ""))
            req = pending.get(key)
            if req is None or journal.get(key) is not None:
                continue
            response = line.get("response") or {}
            if response.get("status_code") == 200 and isinstance(response.get("body"), dict):
                answer = answer_of(key, req.item, response["body"])
                journal.add(answer)
                result = client.accept(req, key, answer, attempts=1)
                result.paid = (answer,)
                finish(result)
            else:
                error = line.get("error") or (response.get("body") or {}).get("error") or {}
                message = str(error.get("message", f"batch {batch.status}")) if isinstance(error, dict) else str(error)
                finish(Result(req, key, error=f"batch_{response.get('status_code', batch.status)}", message=message))


def _line(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
