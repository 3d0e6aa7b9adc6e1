"""The stand-in OpenAI-compatible HTTP endpoint: routes, request pipeline and the blocking `serve` entry point.

It plays the model for demos, tests and benchmarks and proves the plumbing; it is not a model. Its answers are
built from the request's own source text (see `answer.py`), its faults are deterministic (see `faults.py`).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal

from aiohttp import web
from aiohttp.typedefs import Handler

from remud_gen.stub.answer import complete
from remud_gen.stub.batches import add_batch_routes
from remud_gen.stub.error_responses import ApiError
from remud_gen.stub.faults import FaultInjector, bad_body, drop, error_200, rate_limited, server_error
from remud_gen.stub.ratelimit import RateWindow
from remud_gen.stub.request import parse_body, parse_chat
from remud_gen.stub.settings import StubSettings
from remud_gen.stub.state import STATE, StubState

log = logging.getLogger(__name__)
BANNER = "remud-gen stand-in endpoint (NOT a model) listening on {url}"
# Real servers keep a deep accept queue; 128 (aiohttp's default) drops connections in a 256-wide burst.
BACKLOG = 2048
_UNCOUNTED = frozenset({"/stats"})


def make_app(settings: StubSettings | None = None) -> web.Application:
    """Build the stand-in's aiohttp application.

    Args:
        settings: behaviour of the endpoint; defaults to `StubSettings()`.

    Returns:
        An application serving /v1/models, /v1/chat/completions, /v1/files, /v1/batches and /stats.
    """
    settings = settings or StubSettings()
    app = web.Application(client_max_size=max(settings.max_body_bytes, settings.max_file_bytes), middlewares=[_guard])
    app[STATE] = StubState(
        settings=settings,
        faults=FaultInjector(settings),
        window=RateWindow(settings.ratelimit_requests, settings.ratelimit_tokens),
    )
    app.router.add_get("/v1/models", _models)
    app.router.add_get("/v1/models/{model}", _model)
    app.router.add_post("/v1/chat/completions", _chat)
    app.router.add_get("/stats", _stats)
    app.router.add_delete("/stats", _reset_stats)
    add_batch_routes(app)
    app.on_cleanup.append(_cancel_tasks)
    return app


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    # One place turns every failure into OpenAI's error JSON and counts what each request got.
    state = request.app[STATE]
    counted = request.path not in _UNCOUNTED
    if counted:
        state.stats.requests += 1
        state.stats.by_path[request.path] += 1
    try:
        _authorise(request, state.settings.api_key)
        response = await handler(request)
    except ApiError as err:
        response = err.response()
    except web.HTTPException as exc:
        message = exc.text if exc.status != 413 else f"Request body exceeds {state.settings.max_body_bytes} bytes."
        response = ApiError(exc.status, message or exc.reason, code=_code(exc.status)).response()
    except Exception as exc:
        # A bug in the stand-in must still look like a server error to the client, and be visible here.
        log.exception("stand-in failed on %s %s", request.method, request.path)
        response = ApiError(500, f"Internal error in the stand-in endpoint: {exc!r}").response()
    if counted:
        dropped = request.transport is None or request.transport.is_closing()
        state.stats.by_status["dropped" if dropped else str(response.status)] += 1
    return response


def _authorise(request: web.Request, key: str | None) -> None:
    if key is None or request.path in _UNCOUNTED:
        return
    sent = request.headers.get("Authorization", "")
    if not hmac.compare_digest(sent.encode(), f"Bearer {key}".encode()):
        raise ApiError(401, "Incorrect API key provided.", code="invalid_api_key")


def _code(status: int) -> str | None:
    return {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}.get(status)


async def _models(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return web.json_response({"object": "list", "data": [_model_card(state)]})


async def _model(request: web.Request) -> web.Response:
    state = request.app[STATE]
    name = request.match_info["model"]
    if name != state.settings.model:
        raise ApiError(404, f"The model `{name}` does not exist.", code="model_not_found", param="model")
    return web.json_response(_model_card(state))


def _model_card(state: StubState) -> dict[str, object]:
    return {"id": state.settings.model, "object": "model", "created": state.started, "owned_by": "remud-gen"}


async def _chat(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    settings = state.settings
    arrived = asyncio.get_running_loop().time()
    if settings.latency_s:
        # Requests read in the same turn of the loop arrived together: each takes its arrival time before any of them
        # builds its answer, or the last of a burst would count the others' compute as latency of its own.
        await asyncio.sleep(0)
    raw = await request.read()
    if len(raw) > settings.max_body_bytes:
        raise ApiError(413, f"Request body exceeds {settings.max_body_bytes} bytes.", code="request_too_large")
    req = parse_chat(parse_body(raw), settings.model if settings.strict_model else None, state.quirks)
    wait = state.window.admit(req.prompt_tokens)
    if wait is not None:
        state.stats.by_fault["ratelimit"] += 1
        raise rate_limited(settings, wait, state.window.headers(), injected=False)
    fault = state.faults.decide(req.digest, req.wants_json)
    if fault is not None:
        state.stats.by_fault[fault] += 1
    if fault == "429":
        raise rate_limited(settings, settings.retry_after_s, state.window.headers(), injected=True)
    # The answer is made first and the latency counts from arrival, as a model's latency does: a burst of requests
    # waking together would otherwise queue for the CPU and add their compute time to the configured latency.
    body = complete(req, settings, fault) if fault not in ("500", "503", "drop") else None
    text = json.dumps(body) if body is not None else ""  # serialised before the wait, so the answer leaves on time
    if settings.latency_s:
        await asyncio.sleep(max(0.0, settings.latency_s - (asyncio.get_running_loop().time() - arrived)))
    if fault == "slow":
        await asyncio.sleep(settings.slow_s)
    if fault in ("500", "503"):
        raise server_error(fault, settings)
    if fault == "drop" or body is None:
        return drop(request)
    usage = body["usage"]
    state.window.spend(usage["completion_tokens"])
    state.stats.prompt_tokens += usage["prompt_tokens"]
    state.stats.completion_tokens += usage["completion_tokens"]
    headers = state.window.headers()
    if fault == "bad_body":
        return bad_body(body, headers)
    if fault == "error_200":
        return error_200(headers)
    return web.Response(text=text, content_type="application/json", headers=headers)


async def _stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].stats.snapshot())


async def _reset_stats(request: web.Request) -> web.Response:
    request.app[STATE].stats.reset()
    return web.json_response({"reset": True})


async def _cancel_tasks(app: web.Application) -> None:
    tasks = list(app[STATE].tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def serve(settings: StubSettings) -> None:
    """Run the stand-in in the foreground until SIGINT or SIGTERM.

    Args:
        settings: where to listen and how to behave; port 0 picks a free port (printed in the start-up line).
    """
    asyncio.run(_serve(settings))


async def _serve(settings: StubSettings) -> None:
    runner = web.AppRunner(make_app(settings), access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port, backlog=BACKLOG)
        await site.start()
        port = runner.addresses[0][1]
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        # the banner comes after the handlers: whoever waits for it may stop the server at once and get a clean exit
        print(BANNER.format(url=f"http://{host}:{port}/v1"), flush=True)
        try:
            await stop.wait()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
    finally:
        await runner.cleanup()
