"""Batch API mode against the stand-in's Files + Batches API: same answers as live, resumable by batch id."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from remud_gen.llm.batch import run_batch
from remud_gen.llm.client import Client, Result
from remud_gen.llm.journal import Journal
from remud_gen.llm.parse import parse_json_object
from remud_gen.llm.request import ChatRequest, Message
from remud_gen.llm.runner import run_requests
from remud_gen.llm.settings import EndpointSettings
from remud_gen.stub import BackgroundStub

SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}


def requests(n: int) -> list[ChatRequest]:
    return [
        ChatRequest(
            item=f"i{i}",
            messages=[
                Message(
                    "user", f"Q{i} <source>The spleen is about 12 cm long. It sits in the left upper quadrant.</source>"
                )
            ],
            schema=SCHEMA,
            parse=parse_json_object,
        )
        for i in range(n)
    ]


def settings(url: str) -> EndpointSettings:
    return EndpointSettings(base_url=[url], model="stand-in", batch_poll_s=0.05)


def values(results: list[Result]) -> dict[str, Any]:
    return {r.request.item: r.value for r in results}


def test_batch_gives_the_live_answers(tmp_path: Path) -> None:
    with BackgroundStub(batch_delay_s=0.05) as stub:
        live: list[Result] = []
        batch: list[Result] = []

        async def go() -> None:
            client = Client(settings(stub.base_url), None, "k")
            await run_requests(client, requests(12), lambda r, u: live.append(r), total=12)
            await client.aclose()
            with Journal(tmp_path / "j.jsonl") as journal:
                client = Client(settings(stub.base_url), journal, "k")
                stats = await run_batch(client, requests(12), lambda r, u: batch.append(r), total=12, poll_s=0.05)
                await client.aclose()
            assert stats.ok == 12

        asyncio.run(go())
        assert values(batch) == values(live)
        assert all(r.ok for r in batch)


def test_an_interrupted_batch_is_resumed_not_resubmitted(tmp_path: Path) -> None:
    with BackgroundStub(batch_delay_s=0.6) as stub:

        async def first() -> None:
            with Journal(tmp_path / "j.jsonl") as journal:
                client = Client(settings(stub.base_url), journal, "k")
                try:
                    with pytest.raises(TimeoutError):
                        await asyncio.wait_for(run_batch(client, requests(8), lambda r, u: None, total=8), 0.3)
                finally:
                    await client.aclose()

        asyncio.run(first())
        meta = [json.loads(line) for line in (tmp_path / "j.jsonl").read_text().splitlines()]
        assert any("meta" in m for m in meta), "the batch id must be journaled as soon as it exists"
        done: list[Result] = []

        async def second() -> None:
            with Journal(tmp_path / "j.jsonl") as journal:
                client = Client(settings(stub.base_url), journal, "k")
                await run_batch(client, requests(8), lambda r, u: done.append(r), total=8, poll_s=0.05)
                await client.aclose()

        asyncio.run(second())
        assert len(done) == 8 and all(r.ok for r in done)
        assert stub.stats()["by_path"].get("/v1/batches", 0) == 1, "no second batch may be created"
