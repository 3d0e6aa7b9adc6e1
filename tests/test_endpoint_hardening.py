"""Servers a careless setup meets: a key only where it belongs and never echoed back, and endpoints that are no chat
API (a web page, a 501, a server that never answers) stop the stage at once with exit 3 and one clear line."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web
from chunk_work import chunks_only
from local_app import served
from typer.testing import CliRunner, Result

from remud_gen.cli import app

runner = CliRunner()
KEY = "sk-test-not-a-real-key-0123456789"  # what conftest puts in OPENAI_API_KEY
TEXT = (
    "Item {i}. Acute pyelonephritis may show an enlarged kidney with reduced corticomedullary differentiation. "
    "Colour Doppler can show wedge-shaped areas of reduced perfusion. A renal abscess appears as a complex "
    "collection with internal echoes and posterior enhancement."
)
MODELS = {"object": "list", "data": [{"id": "m", "object": "model"}]}


def work_with_chunks(root: Path, n: int = 6) -> Path:
    return chunks_only(root, [TEXT.format(i=i) for i in range(n)])


def synthesize(work: Path, url: str, config: str = "") -> Result:
    cfg = work.parent / "c.yaml"
    cfg.write_text("endpoint:\n  backoff_base_s: 0.01\n  concurrency: 2\n" + config)  # later keys win
    args = ["synthesize", str(work), "--base-url", url, "--model", "m", "--task", "qa", "-c", str(cfg)]
    return runner.invoke(app, args)


def assert_no_key(work: Path, result: Result) -> None:
    """The key is nowhere: not on stdout or stderr, not in any file of the work directory."""
    assert KEY not in result.stdout and KEY not in result.stderr
    for path in work.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), f"the key is in {path}"


def app_with(
    chat: Callable[[web.Request], object], models: Callable[[web.Request], object] | None = None
) -> tuple[web.Application, list[web.Request]]:
    """An app answering GET /v1/models (JSON unless given) and POST /v1/chat/completions; it records every request."""
    seen: list[web.Request] = []

    async def on_models(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        return models(request) if models else web.json_response(MODELS)  # type: ignore[return-value]

    async def on_chat(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        await request.read()
        answer = chat(request)
        if asyncio.iscoroutine(answer):
            answer = await answer
        return answer  # type: ignore[return-value]

    application = web.Application()
    application.router.add_get("/v1/models", on_models)
    application.router.add_post("/v1/chat/completions", on_chat)
    return application, seen


def test_a_key_never_goes_to_a_server_configured_with_another_variable(tmp_path: Path) -> None:
    application, seen = app_with(lambda r: web.json_response({"error": {"message": "no key"}}, status=401))
    work = work_with_chunks(tmp_path / "w")
    with served(application) as url:
        result = synthesize(work, url, "  api_key_env: REMUD_TEST_UNSET_KEY\n")
    assert seen, "the server was never asked"
    assert all(KEY not in r.headers.get("Authorization", "") for r in seen)
    assert result.exit_code == 3
    assert "REMUD_TEST_UNSET_KEY is not set" in result.stderr
    assert_no_key(work, result)


@pytest.mark.parametrize(
    ("status", "words"),
    [(401, f"Incorrect API key provided: {KEY}."), (403, f"The API key {KEY} has no permission for this model")],
    ids=["401", "403"],
)
def test_a_refused_key_stops_at_once_naming_its_variable_never_the_key(tmp_path: Path, status: int, words: str) -> None:
    application, seen = app_with(lambda r: web.json_response({"error": {"message": words}}, status=status))
    work = work_with_chunks(tmp_path / "w", n=40)
    with served(application) as url:
        result = synthesize(work, url)
    assert result.exit_code == 3, result.stderr
    assert "$OPENAI_API_KEY" in result.stderr
    chats = [r for r in seen if r.method == "POST"]
    assert len(chats) <= 4, "the stage went on sending after the key was refused"
    assert_no_key(work, result)


HTML = "<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head><body>It works</body></html>"


def test_a_web_page_for_every_path_is_no_chat_api(tmp_path: Path) -> None:
    page = lambda r: web.Response(text=HTML, content_type="text/html")  # noqa: E731
    application, seen = app_with(page, models=page)
    work = work_with_chunks(tmp_path / "w")
    with served(application) as url:
        result = synthesize(work, url)
    assert result.exit_code == 3, result.stderr
    assert "text/html" in result.stderr and "<!DOCTYPE html>" in result.stderr
    assert not [r for r in seen if r.method == "POST"], "a request was paid for on a server that is no API"
    assert_no_key(work, result)


@pytest.mark.parametrize(
    "answer",
    [
        lambda r: web.Response(status=501, text="Not Implemented"),
        lambda r: web.Response(text=HTML, content_type="text/html"),
    ],
    ids=["501-on-post", "html-200-on-post"],
)
def test_a_first_answer_that_is_not_openai_json_stops_the_stage(
    tmp_path: Path, answer: Callable[[web.Request], web.Response]
) -> None:
    application, seen = app_with(answer)
    work = work_with_chunks(tmp_path / "w", n=40)
    with served(application) as url:
        result = synthesize(work, url)
    assert result.exit_code == 3, result.stderr
    said = " ".join(result.stderr.split())
    assert "text/plain" in said or "text/html" in said
    assert "Not Implemented" in said or "<!DOCTYPE html>" in said
    assert len([r for r in seen if r.method == "POST"]) <= 4, "every item was retried"
    assert_no_key(work, result)


def test_a_server_that_never_answers_is_reported_within_the_timeout(tmp_path: Path) -> None:
    closing = asyncio.Event()

    async def silent(request: web.Request) -> web.Response:
        await closing.wait()  # never answers while the test runs
        return web.json_response({})

    async def close(application: web.Application) -> None:
        closing.set()

    application, _ = app_with(silent)
    application.on_shutdown.append(close)
    work = work_with_chunks(tmp_path / "w")
    started = time.monotonic()
    with served(application) as url:
        result = synthesize(work, url, "  timeout_s: 1\n  grace_s: 0\n")
    assert result.exit_code == 3, result.stderr
    assert "no answer within 1 s" in " ".join(result.stderr.split())
    assert time.monotonic() - started < 3 * 1 + 2  # one timeout, not seven attempts of it
    assert_no_key(work, result)


def test_the_manifest_names_the_keys_variable_not_the_key(tmp_path: Path, stub: object) -> None:
    work = work_with_chunks(tmp_path / "w", n=2)
    result = synthesize(work, stub.base_url)  # type: ignore[attr-defined]
    assert result.exit_code == 0, result.stderr
    endpoint = json.loads((work / "manifest.json").read_text())["stages"]["synthesize"]["config"]["endpoint"]
    assert endpoint["api_key_env"] == "OPENAI_API_KEY"
    assert_no_key(work, result)


def test_a_request_left_unanswered_later_is_told_as_it_happens(tmp_path: Path) -> None:
    closing = asyncio.Event()
    answered: list[int] = []

    async def first_then_silent(request: web.Request) -> web.Response:
        if not answered:
            answered.append(1)
            choice = {"index": 0, "message": {"role": "assistant", "content": "no JSON"}, "finish_reason": "stop"}
            return web.json_response({"id": "c1", "object": "chat.completion", "choices": [choice]})
        await closing.wait()  # every later request: never answered while the test runs
        return web.json_response({})

    async def close(application: web.Application) -> None:
        closing.set()

    application, _ = app_with(first_then_silent)
    application.on_shutdown.append(close)
    work = work_with_chunks(tmp_path / "w", n=3)
    # The mode is set, so no probe goes first: the one answer is an item's.
    config = "  timeout_s: 1\n  max_retries: 1\n  max_reasks: 0\n  concurrency: 1\n  structured_output: prompt\n"
    with served(application) as url:
        result = synthesize(work, url, config)
    assert result.exit_code == 1, result.stderr
    assert "no answer within 1 s (endpoint.timeout_s)" in " ".join(result.stderr.split())
    assert_no_key(work, result)
