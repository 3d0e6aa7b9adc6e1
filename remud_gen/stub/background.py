"""Run the stand-in on a daemon thread for tests and benchmarks: `with BackgroundStub() as stub: ...`."""

from __future__ import annotations

import asyncio
import socket
import threading
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from remud_gen.stub.server import BACKLOG, make_app
from remud_gen.stub.settings import StubSettings
from remud_gen.stub.state import STATE

_START_TIMEOUT_S = 10.0


class BackgroundStub:
    """The stand-in endpoint on a free 127.0.0.1 port, served by its own event loop on a daemon thread.

    Args:
        settings: behaviour of the endpoint; host and port are overridden (127.0.0.1, a free port).
        **overrides: StubSettings fields to change, e.g. `BackgroundStub(latency_s=0.01, fault_429=0.5)`.

    Example:
        >>> with BackgroundStub(reasoning=True) as stub:
        ...     client = OpenAI(base_url=stub.base_url, api_key="x")
    """

    def __init__(self, settings: StubSettings | None = None, **overrides: Any) -> None:
        fields = (settings or StubSettings()).model_dump()
        self.settings = StubSettings.model_validate({**fields, **overrides, "host": "127.0.0.1", "port": 0})
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI base URL of the running endpoint, "http://127.0.0.1:PORT/v1"."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        """Bind a free port and start serving; returns once the endpoint accepts connections."""
        if self._thread is not None:
            raise RuntimeError("BackgroundStub is already running")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, name="remud-gen-stub", daemon=True)
            self._thread.start()
            asyncio.run_coroutine_threadsafe(self._serve(sock), self._loop).result(_START_TIMEOUT_S)
        except BaseException:
            sock.close()
            self.stop()
            raise

    async def _serve(self, sock: socket.socket) -> None:
        # Short shutdown grace: in-flight slow-fault sleeps are cancelled rather than waited for.
        self._runner = web.AppRunner(make_app(self.settings), access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        await web.SockSite(self._runner, sock, backlog=BACKLOG).start()

    def stop(self) -> None:
        """Stop serving, close every socket and end the thread; safe to call twice."""
        loop, thread, runner = self._loop, self._thread, self._runner
        self._loop = self._thread = self._runner = None
        if loop is None:
            return
        if runner is not None and loop.is_running():
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(_START_TIMEOUT_S)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(_START_TIMEOUT_S)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    def stats(self) -> dict[str, Any]:
        """The endpoint's counters (requests, by_status, by_fault, ...), read on its own loop."""
        return self._on_loop(self._snapshot())

    def reset_stats(self) -> None:
        """Zero the endpoint's counters."""
        self._on_loop(self._reset())

    def _on_loop(self, coro: Any) -> Any:
        if self._loop is None:
            coro.close()
            raise RuntimeError("BackgroundStub is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(_START_TIMEOUT_S)

    async def _snapshot(self) -> dict[str, Any]:
        assert self._runner is not None
        return self._runner.app[STATE].stats.snapshot()

    async def _reset(self) -> None:
        assert self._runner is not None
        self._runner.app[STATE].stats.reset()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
