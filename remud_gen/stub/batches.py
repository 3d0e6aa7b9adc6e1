"""In-memory Batch API: a batch runs every JSONL line through the same chat handler shortly after creation.

Statuses move validating -> in_progress -> finalizing -> completed (or failed when the input is invalid, or
cancelled), as OpenAI's do, so a client's polling loop is exercised for real. Lines get no injected faults.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any

from aiohttp import web

from remud_gen.stub.answer import complete
from remud_gen.stub.error_responses import ApiError, bad_request
from remud_gen.stub.files import FILES, add_file_routes
from remud_gen.stub.request import parse_chat
from remud_gen.stub.state import STATE, StubState

log = logging.getLogger(__name__)
ENDPOINT = "/v1/chat/completions"
BATCHES = web.AppKey("remud_gen_stub_batches", dict[str, dict[str, Any]])
# Yield to the event loop every so many lines so a big batch does not stall live requests.
_YIELD_EVERY = 32


def add_batch_routes(app: web.Application) -> None:
    """Register /v1/files and /v1/batches routes on `app`."""
    add_file_routes(app)
    app[BATCHES] = {}
    app.router.add_post("/v1/batches", _create)
    app.router.add_get("/v1/batches", _list)
    app.router.add_get("/v1/batches/{id}", _retrieve)
    app.router.add_post("/v1/batches/{id}/cancel", _cancel)


async def _create(request: web.Request) -> web.Response:
    try:
        spec = await request.json()
    except ValueError as exc:
        raise bad_request(f"We could not parse the JSON body of your request ({exc}).", code="invalid_json") from exc
    if not isinstance(spec, dict):
        raise bad_request("The request body must be a JSON object.", code="invalid_json")
    if not isinstance(spec.get("input_file_id"), str):
        raise bad_request("Missing required parameter: 'input_file_id'.", "input_file_id", "missing_required_parameter")
    stored = request.app[FILES].get(spec["input_file_id"])
    if stored.purpose != "batch":
        raise bad_request(f"File {stored.id} has purpose {stored.purpose!r}, not 'batch'.", "input_file_id")
    if spec.get("endpoint") != ENDPOINT:
        raise bad_request(f"endpoint must be {ENDPOINT!r}, got {spec.get('endpoint')!r}", "endpoint")
    if spec.get("completion_window") != "24h":
        raise bad_request("completion_window must be '24h'", "completion_window")
    now = int(time.time())
    batch: dict[str, Any] = {
        "id": f"batch_{uuid.uuid4().hex[:24]}",
        "object": "batch",
        "endpoint": ENDPOINT,
        "input_file_id": stored.id,
        "completion_window": "24h",
        "status": "validating",
        "created_at": now,
        "expires_at": now + 86_400,
        "output_file_id": None,
        "error_file_id": None,
        "errors": None,
        "metadata": spec.get("metadata"),
        "request_counts": {"total": 0, "completed": 0, "failed": 0},
    }
    request.app[BATCHES][batch["id"]] = batch
    state = request.app[STATE]
    task = asyncio.get_running_loop().create_task(_run(request.app, state, batch, stored.data))
    state.tasks.add(task)
    task.add_done_callback(state.tasks.discard)
    return web.json_response(batch)


async def _list(request: web.Request) -> web.Response:
    data = list(request.app[BATCHES].values())
    return web.json_response({"object": "list", "data": data, "has_more": False})


async def _retrieve(request: web.Request) -> web.Response:
    return web.json_response(_get(request))


async def _cancel(request: web.Request) -> web.Response:
    batch = _get(request)
    if batch["status"] in ("validating", "in_progress"):
        batch.update(status="cancelling", cancelling_at=int(time.time()))
    return web.json_response(batch)


def _get(request: web.Request) -> dict[str, Any]:
    batch_id = request.match_info["id"]
    try:
        return request.app[BATCHES][batch_id]
    except KeyError:
        raise ApiError(404, f"No such Batch object: {batch_id}", param="id", code="not_found") from None


async def _run(app: web.Application, state: StubState, batch: dict[str, Any], data: bytes) -> None:
    try:
        await _process(app, state, batch, data)
    except Exception as exc:
        # A task's exception would otherwise vanish; the client polling the batch must see it failed.
        log.exception("batch %s failed", batch["id"])
        error = _line_error(None, "internal_error", f"Internal error in the stand-in endpoint: {exc!r}")
        batch.update(status="failed", failed_at=int(time.time()), errors={"object": "list", "data": [error]})


async def _process(app: web.Application, state: StubState, batch: dict[str, Any], data: bytes) -> None:
    await asyncio.sleep(state.settings.batch_delay_s)
    lines, errors = _read_lines(data)
    if errors:
        batch.update(status="failed", failed_at=int(time.time()), errors={"object": "list", "data": errors})
        return
    batch.update(status="in_progress", in_progress_at=int(time.time()))
    counts = batch["request_counts"]
    counts["total"] = len(lines)
    out: list[str] = []
    failed: list[str] = []
    usage = {"input_tokens": 0, "output_tokens": 0}
    for i, line in enumerate(lines):
        if batch["status"] == "cancelling":
            batch.update(status="cancelled", cancelled_at=int(time.time()))
            return
        if i % _YIELD_EVERY == _YIELD_EVERY - 1:
            await asyncio.sleep(0)
        record = {"id": f"batch_req_{uuid.uuid4().hex[:24]}", "custom_id": line["custom_id"], "error": None}
        try:
            body = complete(parse_chat(line["body"]), state.settings)
        except ApiError as err:
            record["response"] = {"status_code": err.status, "request_id": uuid.uuid4().hex, "body": err.body()}
            failed.append(json.dumps(record, ensure_ascii=False))
            counts["failed"] += 1
            continue
        record["response"] = {"status_code": 200, "request_id": uuid.uuid4().hex, "body": body}
        out.append(json.dumps(record, ensure_ascii=False))
        counts["completed"] += 1
        usage["input_tokens"] += body["usage"]["prompt_tokens"]
        usage["output_tokens"] += body["usage"]["completion_tokens"]
        state.stats.batch_lines += 1
    batch.update(status="finalizing", finalizing_at=int(time.time()))
    files = app[FILES]
    name = batch["id"]
    if out:
        batch["output_file_id"] = files.add(f"{name}_output.jsonl", "batch_output", _jsonl(out)).id
    if failed:
        batch["error_file_id"] = files.add(f"{name}_error.jsonl", "batch_output", _jsonl(failed)).id
    batch["usage"] = {
        **usage,
        "total_tokens": usage["input_tokens"] + usage["output_tokens"],
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens_details": {"reasoning_tokens": 0},
    }
    batch.update(status="completed", completed_at=int(time.time()))


def _read_lines(data: bytes) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    # Like OpenAI, a batch whose input breaks the line contract fails whole, before any request runs.
    lines: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, text in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except ValueError:
            errors.append(_line_error(number, "invalid_json_line", "This line is not parseable as valid JSON."))
            continue
        if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
            errors.append(_line_error(number, "missing_required_parameter", "Each line needs a custom_id string."))
        elif line["custom_id"] in seen:
            errors.append(_line_error(number, "duplicate_custom_id", f"custom_id {line['custom_id']!r} repeats."))
        elif line.get("method") != "POST" or line.get("url") != ENDPOINT or not isinstance(line.get("body"), dict):
            errors.append(_line_error(number, "invalid_request", f"Each line must POST a JSON body to {ENDPOINT}."))
        else:
            seen.add(line["custom_id"])
            lines.append(line)
    if not lines and not errors:
        errors.append(_line_error(None, "empty_file", "The input file has no requests."))
    return lines, errors


def _line_error(line: int | None, code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "param": None, "line": line}


def _jsonl(records: list[str]) -> bytes:
    return ("\n".join(records) + "\n").encode()
