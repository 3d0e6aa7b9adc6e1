"""The model client against the stand-in endpoint over real HTTP: retries, failures, journal, images."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from remud_gen.errors import EndpointStatusError
from remud_gen.llm.client import Client, Result
from remud_gen.llm.journal import Journal
from remud_gen.llm.parse import parse_json_object
from remud_gen.llm.request import ChatRequest, Message
from remud_gen.llm.runner import Budget, run_requests
from remud_gen.llm.settings import EndpointSettings
from remud_gen.stub import BackgroundStub

SCHEMA = {
    "type": "object",
    "properties": {"question": {"type": "string"}, "answer": {"type": "string"}},
    "required": ["question", "answer"],
}


def request(i: int, *, images: tuple[Path, ...] = (), schema: dict[str, Any] | None = SCHEMA) -> ChatRequest:
    text = f"Item {i}. <source>The kidney is 9 to 12 cm long in adults. Its cortex is hypoechoic.</source>"
    return ChatRequest(
        item=f"item-{i}",
        messages=[Message("system", "Answer with JSON."), Message("user", text, images)],
        schema=schema,
        parse=parse_json_object if schema else None,
    )


TRANSPORT = {"name": "sdk"}  # set per test by the `transport` fixture: every test here runs on both transports


@pytest.fixture(autouse=True, params=["sdk", "aiohttp"])
def transport(request: pytest.FixtureRequest) -> Iterator[str]:
    TRANSPORT["name"] = request.param
    yield request.param
    TRANSPORT["name"] = "sdk"


def settings(url: str, **kw: Any) -> EndpointSettings:
    base = {"base_url": url, "model": "stand-in", "concurrency": 8, "backoff_base_s": 0.01, "timeout_s": 5}
    return EndpointSettings.model_validate(base | {"transport": TRANSPORT["name"]} | kw)


def run_all(client: Client, reqs: list[ChatRequest], budget: Budget | None = None) -> tuple[list[Result], Any]:
    results: list[Result] = []

    async def go() -> Any:
        try:
            return await run_requests(client, reqs, lambda r, u: results.append(r), total=len(reqs), budget=budget)
        finally:
            await client.aclose()

    stats = asyncio.run(go())
    return sorted(results, key=lambda r: r.request.item), stats


def test_answers_are_parsed_journaled_and_not_paid_twice(tmp_path: Path) -> None:
    with BackgroundStub() as stub:
        reqs = [request(i) for i in range(20)]
        with Journal(tmp_path / "journal.jsonl") as journal:
            results, stats = run_all(Client(settings(stub.base_url), journal, "k"), reqs)
        assert all(r.ok for r in results) and stats.ok == 20
        assert results[0].value["question"] and stats.usage.prompt_tokens > 0
        sent = stub.stats()["requests"]
        with Journal(tmp_path / "journal.jsonl") as journal:
            again, stats2 = run_all(Client(settings(stub.base_url), journal, "k"), [request(i) for i in range(20)])
        assert stub.stats()["requests"] == sent, "a re-run must send nothing"
        assert [r.value for r in again] == [r.value for r in results]
        assert stats2.cached == 20 and stats2.usage.prompt_tokens == 0


def test_rate_limits_are_retried_after_the_servers_delay(tmp_path: Path) -> None:
    with BackgroundStub(fault_429=0.5, retry_after_s=0.05, max_faults_per_request=2) as stub:
        results, stats = run_all(Client(settings(stub.base_url), None, "k"), [request(i) for i in range(30)])
        assert all(r.ok for r in results)
        assert stub.stats()["by_status"].get("429", 0) > 0 and stats.retries > 0


@pytest.mark.parametrize("fault", ["500", "503", "drop"])
def test_server_errors_and_dropped_connections_are_retried(fault: str) -> None:
    with BackgroundStub(**{f"fault_{fault}": 0.5, "max_faults_per_request": 2}) as stub:
        results, _ = run_all(Client(settings(stub.base_url), None, "k"), [request(i) for i in range(12)])
        assert all(r.ok for r in results)


@pytest.mark.parametrize(("max_retries", "attempts"), [(0, 1), (1, 2), (3, 4)])
def test_every_attempt_is_counted_and_retries_stop_at_the_limit(max_retries: int, attempts: int) -> None:
    with BackgroundStub(fault_500=1.0) as stub:
        client = Client(settings(stub.base_url, max_retries=max_retries), None, "k")
        results, stats = run_all(client, [request(1)])
        assert results[0].error == "http_500" and results[0].attempts == attempts
        assert stub.stats()["by_path"]["/v1/chat/completions"] == attempts
        assert stats.sent == attempts and stats.retries == attempts - 1


@pytest.mark.parametrize("faults", [1, 2])
def test_each_retry_waits_what_the_server_asked(faults: int) -> None:
    with BackgroundStub(fault_429=1.0, retry_after_s=0.2, max_faults_per_request=faults) as stub:
        started = time.monotonic()
        results, stats = run_all(Client(settings(stub.base_url), None, "k"), [request(1)])
        assert results[0].ok and results[0].attempts == faults + 1 and stats.retries == faults
        assert time.monotonic() - started >= 0.2 * faults


def test_oversized_request_fails_at_once_with_the_servers_message() -> None:
    with BackgroundStub(max_body_bytes=2000) as stub:
        big = request(1)
        big.messages[1] = Message("user", "x" * 5000)
        results, _ = run_all(Client(settings(stub.base_url), None, "k"), [big])
        assert results[0].error == "http_413" and results[0].attempts == 1
        assert stub.stats()["by_path"]["/v1/chat/completions"] == 1


def test_bad_key_stops_the_stage_before_any_paid_request() -> None:
    with BackgroundStub(api_key="right") as stub:
        with pytest.raises(EndpointStatusError, match="rejected the API key"):
            run_all(Client(settings(stub.base_url), None, "wrong"), [request(1)])
        assert stub.stats()["by_path"].get("/v1/chat/completions", 0) == 0


def test_truncated_and_malformed_answers_are_repaired_or_reasked(tmp_path: Path) -> None:
    with BackgroundStub(fault_truncate=0.4, fault_malformed=0.4, max_faults_per_request=1) as stub:
        with Journal(tmp_path / "j.jsonl") as journal:
            results, _ = run_all(
                Client(settings(stub.base_url, max_reasks=2), journal, "k"), [request(i) for i in range(20)]
            )
        assert sum(r.ok for r in results) == 20
        assert sum(stub.stats()["by_fault"].values()) > 0


def test_every_token_the_server_billed_is_counted_once_reasks_included(tmp_path: Path) -> None:
    # half the answers come back empty and are asked again (a re-ask is a new body, with a fresh draw)
    reqs = [request(i) for i in range(16)]
    with BackgroundStub(fault_empty=0.5) as stub:
        with Journal(tmp_path / "j.jsonl") as journal:
            results, stats = run_all(Client(settings(stub.base_url, max_reasks=6), journal, "k"), reqs)
        served = stub.stats()
        assert all(r.ok for r in results) and max(len(r.paid) for r in results) >= 2
        assert (stats.usage.prompt_tokens, stats.usage.completion_tokens) == (
            served["prompt_tokens"],
            served["completion_tokens"],
        )
        with Journal(tmp_path / "j.jsonl") as journal:  # a re-run reads every answer back and pays for none
            again, stats = run_all(Client(settings(stub.base_url, max_reasks=6), journal, "k"), reqs)
        assert all(r.ok for r in again) and stats.usage.prompt_tokens == stats.usage.completion_tokens == 0


def test_a_garbled_http_reply_is_a_connection_failure_and_retried() -> None:
    """A reply that is not valid HTTP is retried like a dropped connection, then recorded, never a crash."""
    seen = {"chat": 0}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if head.startswith(b"GET /v1/models"):
            writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 11\r\nContent-Type: application/json\r\n\r\n{"data":[]}')
        else:
            seen["chat"] += 1
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n{}")
        await writer.drain()
        writer.close()

    async def go() -> list[Result]:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = Client(settings(f"http://127.0.0.1:{port}/v1", max_retries=2), None, "k")
        results: list[Result] = []
        try:
            await run_requests(client, [request(1)], lambda r, u: results.append(r), total=1)
        finally:
            await client.aclose()
            server.close()
        return results

    results = asyncio.run(go())
    assert results[0].error == "connection" and results[0].attempts == 3 and seen["chat"] == 3


def test_the_environments_proxy_is_used_as_the_sdk_uses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # The stand-in routes by path, so it also serves as the forward proxy for a host name that resolves nowhere:
    # an answer can only come through the proxy.
    with BackgroundStub() as stub:
        monkeypatch.setenv("HTTP_PROXY", stub.base_url.removesuffix("/v1"))
        monkeypatch.setenv("NO_PROXY", "")
        results, _ = run_all(Client(settings("http://stand-in.invalid/v1"), None, "k"), [request(1), request(2)])
        assert all(r.ok for r in results)
        assert stub.stats()["by_path"]["/v1/chat/completions"] == 2


def test_empty_answers_are_recorded_as_failures_with_no_reask_left() -> None:
    with BackgroundStub(fault_empty=1.0) as stub:
        results, stats = run_all(Client(settings(stub.base_url, max_reasks=0), None, "k"), [request(1)])
        assert results[0].error == "empty" and stats.failed == 1


def test_a_dead_fleet_member_is_avoided() -> None:
    with BackgroundStub() as stub:
        dead = "http://127.0.0.1:9/v1"
        cfg = settings([dead, stub.base_url], max_retries=6)  # type: ignore[arg-type]
        results, _ = run_all(Client(cfg, None, "k"), [request(i) for i in range(16)])
        assert all(r.ok for r in results)


def test_journal_holds_no_image_bytes_and_survives_a_torn_line(tmp_path: Path) -> None:
    img = tmp_path / "frame.png"
    Image.new("L", (900, 700), 40).save(img)
    with BackgroundStub() as stub:
        with Journal(tmp_path / "j.jsonl") as journal:
            results, _ = run_all(Client(settings(stub.base_url), journal, "k"), [request(1, images=(img,))])
        assert results[0].ok
        text = (tmp_path / "j.jsonl").read_text()
        assert "base64" not in text and "data:image" not in text
        with (tmp_path / "j.jsonl").open("a") as fh:
            fh.write('{"k": "torn", "c": "half')  # kill -9 mid-append
        with Journal(tmp_path / "j.jsonl") as journal:
            assert len(journal.answers) == 1
            results, _ = run_all(Client(settings(stub.base_url), journal, "k"), [request(2)])
        lines = (tmp_path / "j.jsonl").read_text().splitlines()
        assert all(json.loads(line) for line in lines) and len(lines) == 2


def test_limit_stops_cleanly() -> None:
    with BackgroundStub() as stub:
        results, stats = run_all(
            Client(settings(stub.base_url), None, "k"), [request(i) for i in range(10)], Budget(limit=4)
        )
        assert len(results) == 4 and stats.stopped == "limit"


def test_images_are_downscaled_to_the_pixel_budget(tmp_path: Path) -> None:
    from remud_gen.llm.images import data_url

    img = tmp_path / "big.png"
    Image.linear_gradient("L").resize((2000, 1500)).convert("RGB").save(img)  # hundreds of grey levels, like a scan
    url = data_url(img, 100_000)
    assert url.startswith("data:image/jpeg;base64,")
    import base64
    import io

    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as small:
        assert small.width * small.height <= 100_000


def test_a_200_with_a_broken_body_is_retried_not_lost() -> None:
    with BackgroundStub(fault_bad_body=0.5, max_faults_per_request=2) as stub:
        results, stats = run_all(Client(settings(stub.base_url), None, "k"), [request(i) for i in range(12)])
        assert len(results) == 12 and all(r.ok for r in results)
        assert stub.stats()["by_fault"].get("bad_body", 0) > 0 and stats.retries > 0


def test_a_body_that_never_parses_is_a_recorded_failure() -> None:
    with BackgroundStub(fault_bad_body=1.0) as stub:
        results, stats = run_all(Client(settings(stub.base_url, max_retries=1), None, "k"), [request(1)])
        assert len(results) == 1 and results[0].error == "bad_response" and stats.failed == 1


def test_a_200_with_an_error_object_is_retried_then_failed_with_the_servers_words() -> None:
    with BackgroundStub(fault_error_200=0.5, max_faults_per_request=2) as stub:
        results, _ = run_all(Client(settings(stub.base_url), None, "k"), [request(i) for i in range(12)])
        assert all(r.ok for r in results) and stub.stats()["by_fault"].get("error_200", 0) > 0
    with BackgroundStub(fault_error_200=1.0) as stub:
        results, _ = run_all(Client(settings(stub.base_url, max_retries=1), None, "k"), [request(1)])
        assert results[0].error == "bad_response" and "Upstream provider returned an error" in (
            results[0].message or ""
        )


def test_a_run_of_identical_setup_errors_stops_the_stage() -> None:
    with BackgroundStub(strict_model=True) as stub:
        cfg = settings(stub.base_url, model="no-such-model", concurrency=4)
        results, stats = run_all(Client(cfg, None, "k"), [request(i) for i in range(80)])
        assert stats.stopped == "endpoint" and "http_404" in stats.stop_reason
        assert len(results) < 80 and stub.stats()["by_path"]["/v1/chat/completions"] < 80


def test_a_refused_connection_is_reported_as_one_not_as_a_timeout() -> None:
    # a server that went away mid-run: nothing listens on its port any more
    async def go() -> Result:
        client = Client(settings("http://127.0.0.1:9/v1", max_retries=0), None, "k")
        try:
            return await client.complete(request(1))
        finally:
            await client.aclose()

    result = asyncio.run(go())
    assert result.error == "connection" and "timed out" not in result.message
