"""A throwaway local HTTP endpoint for tests that need a server the stand-in cannot play."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from aiohttp import web


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Run ``app`` on a free port of 127.0.0.1 while the block runs; yields its base URL (`http://127.0.0.1:N/v1`)."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        await runner.cleanup()


@contextmanager
def served(app: web.Application) -> Iterator[str]:
    """`serve` on a daemon thread, for a command run in this thread (CliRunner); yields the base URL."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    block = serve(app)
    url = asyncio.run_coroutine_threadsafe(block.__aenter__(), loop).result(10)
    try:
        yield url
    finally:
        asyncio.run_coroutine_threadsafe(block.__aexit__(None, None, None), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
