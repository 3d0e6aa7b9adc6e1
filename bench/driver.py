"""Drive remud-gen's model client alone with the SAME requests the curator peer script sends.

Run in its own process (the stand-in runs in another): it builds one `ChatRequest` per item with curator's prompt
("Write one question and answer about item i: ...") and, with ``--schema``, the same two-field JSON schema, runs them
through `remud_gen.llm.runner.run_requests` with a journaling `Client`, and prints one JSON line with the request
phase's wall time and this process's CPU time over that phase (imports and set-up excluded, as curator's own
timing excludes its imports).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from remud_gen.llm.client import Client, Result
from remud_gen.llm.journal import Journal
from remud_gen.llm.request import ChatRequest, Message
from remud_gen.llm.runner import run_requests
from remud_gen.llm.settings import EndpointSettings
from remud_gen.records import Usage

SCHEMA = {
    "type": "object",
    "properties": {"question": {"type": "string"}, "answer": {"type": "string"}},
    "required": ["question", "answer"],
    "additionalProperties": False,
}


def requests(n: int, schema: bool) -> list[ChatRequest]:
    """Curator's workload, item for item."""
    return [
        ChatRequest(
            item=f"peer:{i}",
            messages=[Message("user", f"Write one question and answer about item {i}: the kidney is 9-12 cm long.")],
            schema=SCHEMA if schema else None,
            schema_name="answer",
            parse=json.loads if schema else None,
        )
        for i in range(n)
    ]


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def drive(
    url: str, n: int, concurrency: int, schema: bool, journal_dir: Path, transport: str
) -> dict[str, float]:
    settings = EndpointSettings.model_validate(
        {"base_url": [url], "model": "stand-in", "concurrency": concurrency, "timeout_s": 600, "transport": transport}
    )
    if transport == "sdk":
        import openai  # noqa: F401  # imported before the clock starts, as curator's is
    reqs = requests(n, schema)
    ok = 0

    def on_result(result: Result, usage: Usage) -> None:
        nonlocal ok
        ok += result.ok

    with Journal(journal_dir / "journal.jsonl") as journal:
        client = Client(settings, journal, "not-used")
        cpu0, t0 = cpu_s(), time.perf_counter()
        try:
            await run_requests(client, reqs, on_result, total=n)
        finally:
            await client.aclose()
        wall, cpu = time.perf_counter() - t0, cpu_s() - cpu0
    return {"n": n, "ok": ok, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "requests_per_s": round(n / wall, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--base-url", required=True)
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("-c", "--concurrency", type=int, default=256)
    ap.add_argument("--schema", action="store_true")
    ap.add_argument("--transport", choices=["sdk", "aiohttp"], default="sdk")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="remud-driver-") as tmp:
        out = asyncio.run(drive(args.base_url, args.n, args.concurrency, args.schema, Path(tmp), args.transport))
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
