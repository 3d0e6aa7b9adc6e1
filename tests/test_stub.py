"""The stand-in endpoint, driven over HTTP by the real openai SDK (and raw HTTP where the SDK would not go)."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any, Literal

import openai
import pytest
from openai import OpenAI
from PIL import Image
from pydantic import BaseModel, Field

from remud_gen.stub import BackgroundStub
from remud_gen.stub.text import count_tokens

SOURCE = (
    "<source>The gallbladder lies in the gallbladder fossa on the inferior surface of the liver. "
    "Its normal wall is thinner than 3 mm when the patient has fasted. Gallstones appear as mobile echogenic foci "
    "with posterior acoustic shadowing (Fig. 7-3). Sludge layers in the dependent part without shadowing.</source>"
)
USER = [{"role": "user", "content": f"Write one question about this text.\n{SOURCE}"}]


class Qa(BaseModel):
    question: str
    answer: Literal["A", "B", "C", "D"]
    options: dict[Literal["A", "B", "C", "D"], str]
    evidence: list[str] = Field(min_length=1, max_length=3)
    score: int = Field(ge=1, le=5)


QA_FORMAT = {"type": "json_schema", "json_schema": {"name": "qa", "schema": Qa.model_json_schema(), "strict": True}}


def png_url(width: int, height: int) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (40, 40, 40)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def client_for(stub: BackgroundStub, **kwargs: Any) -> OpenAI:
    return OpenAI(base_url=stub.base_url, api_key=kwargs.pop("api_key", "x"), **kwargs)


def raw_post(stub: BackgroundStub, path: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """POST bytes without the SDK (which refuses to send many of these bodies) and decode the JSON answer."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{stub.port}{path}",
        data=body,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read())


def ask(client: OpenAI, **kwargs: Any) -> Any:
    return client.chat.completions.create(model="any-model", messages=kwargs.pop("messages", USER), **kwargs)


@pytest.fixture
def client(stub: BackgroundStub) -> Iterator[OpenAI]:
    with client_for(stub, max_retries=0) as c:
        yield c


def test_models_list_and_retrieve(client: OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["stand-in"]
    assert client.models.retrieve("stand-in").owned_by == "remud-gen"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-9")


def test_text_answer_is_grounded_and_labelled(client: OpenAI) -> None:
    reply = ask(client)
    content = reply.choices[0].message.content
    assert reply.model == "stand-in" and reply.system_fingerprint == "remud-gen-stand-in"
    assert reply.choices[0].finish_reason == "stop"
    sentences = [s for s in re.split(r"(?<=\.) ", content) if s]
    # A sentence with a figure mention comes back with the mention cut out, so compare without the full stop.
    assert sentences and all(s.rstrip(".") in SOURCE for s in sentences)
    assert "Fig" not in content


def test_image_parts_are_priced_from_their_size(client: OpenAI) -> None:
    def prompt_tokens(*urls: str) -> int:
        parts: list[dict[str, Any]] = [{"type": "text", "text": "Describe the image."}]
        parts += [{"type": "image_url", "image_url": {"url": url}} for url in urls]
        return ask(client, messages=[{"role": "user", "content": parts}]).usage.prompt_tokens

    text_only = prompt_tokens()
    assert prompt_tokens(png_url(280, 280)) - text_only == 100
    assert prompt_tokens(png_url(10, 10)) - text_only == 64
    assert prompt_tokens(png_url(280, 280), png_url(560, 280)) - text_only == 300


@pytest.mark.parametrize(
    ("content", "expected"),
    [("abcd" * 100, 100), ("超声" * 25, 50), ("Thyroid 甲状腺 nodule", 3 + 4)],
)
def test_usage_counts_tokens(client: OpenAI, content: str, expected: int) -> None:
    reply = ask(client, messages=[{"role": "user", "content": content}])
    assert reply.usage.prompt_tokens == expected + 4 + 3
    assert reply.usage.completion_tokens == count_tokens(reply.choices[0].message.content)
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert reply.usage.prompt_tokens_details.cached_tokens == 0


def test_json_schema_answer_validates(client: OpenAI) -> None:
    for i in range(5):
        messages = [{"role": "user", "content": f"Item {i}. {SOURCE}"}]
        item = Qa.model_validate_json(
            ask(client, messages=messages, response_format=QA_FORMAT).choices[0].message.content
        )
        assert item.question.endswith("?")
        assert all(quote in SOURCE for quote in item.evidence)


def test_json_object_copies_the_prompt_example(client: OpenAI) -> None:
    system = 'Answer as JSON like {"question": "...", "answer": "...", "score": 3}.'
    messages = [{"role": "system", "content": system}, *USER]
    value = json.loads(
        ask(client, messages=messages, response_format={"type": "json_object"}).choices[0].message.content
    )
    assert set(value) == {"question", "answer", "score"} and 1 <= value["score"] <= 5


def test_same_request_same_answer_and_seed_changes_it(client: OpenAI) -> None:
    first = ask(client, response_format=QA_FORMAT).choices[0].message.content
    assert ask(client, response_format=QA_FORMAT).choices[0].message.content == first
    with BackgroundStub(seed=1) as other, client_for(other) as c:
        assert ask(c, response_format=QA_FORMAT).choices[0].message.content != first


def test_n_choices_differ_deterministically(client: OpenAI) -> None:
    reply = ask(client, n=3, response_format=QA_FORMAT)
    contents = [c.message.content for c in reply.choices]
    assert [c.index for c in reply.choices] == [0, 1, 2]
    assert len(set(contents)) == 3
    assert [c.message.content for c in ask(client, n=3, response_format=QA_FORMAT).choices] == contents
    assert ask(client, response_format=QA_FORMAT).choices[0].message.content == contents[0]


def test_max_tokens_cuts_the_answer(client: OpenAI) -> None:
    full = ask(client).choices[0].message.content
    reply = ask(client, max_tokens=5)
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage.completion_tokens <= 5
    assert full.startswith(reply.choices[0].message.content)
    assert ask(client, max_completion_tokens=5).choices[0].message.content == reply.choices[0].message.content


def test_think_and_answer_tags(client: OpenAI) -> None:
    system = "Reason inside <think></think>, then give the letter inside <answer></answer>."
    question = f"{SOURCE}\nWhich is true?\nA. one\nB. two\nC. three"
    reply = ask(client, messages=[{"role": "system", "content": system}, {"role": "user", "content": question}])
    content = reply.choices[0].message.content
    assert re.fullmatch(r"<think>\nStep 1: .+\n</think>\n\n.+\n\n<answer>[ABC]</answer>", content, re.DOTALL)


def test_reasoning_content() -> None:
    with BackgroundStub(reasoning=True) as stub, client_for(stub) as c:
        reply = ask(c)
    trace = reply.choices[0].message.model_extra["reasoning_content"]
    assert trace.startswith("Step 1: ") and trace.split(": ", 1)[1].splitlines()[0].rstrip(".") in SOURCE
    assert reply.usage.completion_tokens_details.reasoning_tokens == count_tokens(trace)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": USER}, "model"),
        ({"model": "m"}, "messages"),
        ({"model": "m", "messages": []}, "messages"),
        ({"model": "m", "messages": [{"role": "robot", "content": "hi"}]}, "messages[0].role"),
        ({"model": "m", "messages": [{"role": "user", "content": [{"type": "audio"}]}]}, "messages[0].content[0].type"),
        ({"model": "m", "messages": USER, "n": 0}, "n"),
        ({"model": "m", "messages": USER, "temperature": 3}, "temperature"),
        ({"model": "m", "messages": USER, "max_tokens": -1}, "max_tokens"),
        ({"model": "m", "messages": USER, "stream": True}, "stream"),
        ({"model": "m", "messages": USER, "response_format": {"type": "xml"}}, "response_format.type"),
        ({"model": "m", "messages": USER, "response_format": {"type": "json_schema"}}, "response_format.json_schema"),
        (
            {
                "model": "m",
                "messages": USER,
                "response_format": {**QA_FORMAT, "json_schema": {"name": "q", "schema": {"$ref": "#/x"}}},
            },
            "response_format",
        ),
    ],
)
def test_invalid_requests_get_openai_errors(stub: BackgroundStub, body: dict[str, Any], param: str) -> None:
    status, answer = raw_post(stub, "/v1/chat/completions", json.dumps(body).encode())
    assert status == 400
    assert answer["error"]["param"] == param
    assert answer["error"]["type"] == "invalid_request_error" and answer["error"]["message"]


@pytest.mark.parametrize(
    "url",
    [
        "data:image/png;base64,not base64!!",
        "data:image/png;base64," + base64.b64encode(b"plain text, not an image").decode(),
        "https://example.com/scan.png",
        "data:text/plain;base64,aGk=",
    ],
)
def test_bad_image_urls_are_400(client: OpenAI, url: str) -> None:
    parts = [{"type": "image_url", "image_url": {"url": url}}]
    with pytest.raises(openai.BadRequestError) as info:
        ask(client, messages=[{"role": "user", "content": parts}])
    assert info.value.body["param"] == "messages[0].content[0].image_url.url"


@pytest.mark.parametrize(("body", "code"), [(b"{not json", "invalid_json"), (b"[1, 2]", "invalid_json")])
def test_unparsable_bodies_are_400(stub: BackgroundStub, body: bytes, code: str) -> None:
    status, answer = raw_post(stub, "/v1/chat/completions", body)
    assert status == 400 and answer["error"]["code"] == code


def test_unknown_route_and_strict_model_are_404(stub: BackgroundStub) -> None:
    status, answer = raw_post(stub, "/v1/embeddings", b"{}")
    assert status == 404 and answer["error"]["code"] == "not_found"
    with BackgroundStub(strict_model=True) as strict, client_for(strict) as c:
        with pytest.raises(openai.NotFoundError):
            ask(c)
        assert c.chat.completions.create(model="stand-in", messages=USER).choices


def test_body_over_limit_is_413() -> None:
    with BackgroundStub(max_body_bytes=2_000) as stub, client_for(stub) as c:
        assert ask(c).choices
        with pytest.raises(openai.APIStatusError) as info:
            ask(c, messages=[{"role": "user", "content": "x" * 5_000}])
        assert info.value.status_code == 413 and info.value.code == "request_too_large"
        assert stub.stats()["by_status"] == {"200": 1, "413": 1}


def test_api_key_is_checked() -> None:
    with BackgroundStub(api_key="sk-right") as stub:
        with client_for(stub, api_key="sk-wrong") as c, pytest.raises(openai.AuthenticationError):
            ask(c)
        with client_for(stub, api_key="sk-right") as c:
            assert ask(c).choices
        assert stub.stats()["by_status"] == {"401": 1, "200": 1}


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("429", openai.RateLimitError),
        ("500", openai.InternalServerError),
        ("503", openai.InternalServerError),
        ("drop", openai.APIConnectionError),
    ],
)
def test_transport_faults_then_retry_succeeds(kind: str, error: type[Exception]) -> None:
    settings = {f"fault_{kind}": 1.0, "max_faults_per_request": 1, "retry_after_s": 0.01}
    with BackgroundStub(**settings) as stub:
        with client_for(stub, max_retries=0) as c, pytest.raises(error):
            ask(c)
        with client_for(stub, max_retries=1) as c:
            other = [{"role": "user", "content": f"Another request. {SOURCE}"}]
            assert ask(c, messages=other).choices[0].message.content
        stats = stub.stats()
    assert stats["requests"] == 3 and stats["by_fault"] == {kind: 2}
    assert stats["by_status"]["200"] == 1


def test_retry_after_headers_on_429() -> None:
    stub = BackgroundStub(fault_429=1.0, retry_after_s=2.5)
    with stub, client_for(stub, max_retries=0) as c, pytest.raises(openai.RateLimitError) as info:
        ask(c)
    headers = info.value.response.headers
    assert headers["retry-after"] == "3" and headers["retry-after-ms"] == "2500"
    assert headers["x-ratelimit-limit-requests"] == "1000000"


def test_a_fault_that_always_fires_exhausts_the_retries() -> None:
    with BackgroundStub(fault_429=1.0, retry_after_s=0.001) as stub, client_for(stub, max_retries=2) as c:
        with pytest.raises(openai.RateLimitError):
            ask(c)
        assert stub.stats()["requests"] == 3


def test_partial_fault_rate_is_deterministic_and_retries_succeed() -> None:
    def run() -> dict[str, Any]:
        with BackgroundStub(fault_429=0.4, retry_after_s=0.001) as stub, client_for(stub, max_retries=8) as c:
            for i in range(40):
                assert ask(c, messages=[{"role": "user", "content": f"q{i} {SOURCE}"}]).choices
            return stub.stats()

    stats = run()
    # Every request ended in a 200 after retries; about 0.4 / 0.6 faulty attempts per request on average.
    assert stats["by_status"]["200"] == 40
    assert 10 <= stats["by_fault"]["429"] <= 50
    assert run() == stats


def test_slow_fault_times_the_client_out() -> None:
    stub = BackgroundStub(fault_slow=1.0, slow_s=0.5)
    with stub, client_for(stub, max_retries=0, timeout=0.1) as c, pytest.raises(openai.APITimeoutError):
        ask(c)
    with BackgroundStub(fault_slow=1.0, slow_s=0.05) as stub, client_for(stub) as c:
        start = time.perf_counter()
        assert ask(c).choices[0].message.content
        assert time.perf_counter() - start >= 0.05


@pytest.mark.parametrize("kind", ["malformed", "truncate", "empty"])
def test_content_faults(client: OpenAI, kind: str) -> None:
    good = ask(client, response_format=QA_FORMAT).choices[0]
    with BackgroundStub(**{f"fault_{kind}": 1.0}) as stub, client_for(stub) as c:
        bad = ask(c, response_format=QA_FORMAT).choices[0]
        plain = ask(c).choices[0]
        assert stub.stats()["by_fault"] == {kind: 1 if kind == "malformed" else 2}
    content = bad.message.content
    if kind == "empty":
        assert content == "" and bad.finish_reason == "stop"
        return
    with pytest.raises(json.JSONDecodeError):
        json.loads(content)
    assert good.message.content.startswith(content) and content
    assert bad.finish_reason == ("length" if kind == "truncate" else "stop")
    if kind == "malformed":
        assert plain.message.content == ask(client).choices[0].message.content


def test_bad_body_fault_is_cut_json() -> None:
    with BackgroundStub(fault_bad_body=1.0) as stub, client_for(stub) as c, pytest.raises(json.JSONDecodeError):
        ask(c)


def test_rate_limit_headers_and_enforcement() -> None:
    with BackgroundStub(ratelimit_requests=2, ratelimit_tokens=1_000) as stub, client_for(stub) as c:
        first = c.chat.completions.with_raw_response.create(model="m", messages=USER)
        second = c.chat.completions.with_raw_response.create(model="m", messages=USER)
        assert first.headers["x-ratelimit-remaining-requests"] == "1"
        assert second.headers["x-ratelimit-remaining-requests"] == "0"
        assert second.headers["x-ratelimit-limit-tokens"] == "1000"
        used = sum(r.parse().usage.total_tokens for r in (first, second))
        assert second.headers["x-ratelimit-remaining-tokens"] == str(1_000 - used)
        assert re.fullmatch(r"\d+(\.\d+)?s|\d+ms", second.headers["x-ratelimit-reset-requests"])
        with client_for(stub, max_retries=0) as strict, pytest.raises(openai.RateLimitError) as info:
            ask(strict)
        assert 50 <= int(info.value.response.headers["retry-after"]) <= 60
        assert stub.stats()["by_fault"] == {"ratelimit": 1}


def test_batch_round_trip(client: OpenAI) -> None:
    bodies = [{"model": "m", "messages": [{"role": "user", "content": f"Q{i} {SOURCE}"}]} for i in range(3)]
    bodies.append({"model": "m", "messages": []})
    lines = [
        {"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions", "body": body}
        for i, body in enumerate(bodies)
    ]
    upload = client.files.create(file=("in.jsonl", "\n".join(map(json.dumps, lines)).encode()), purpose="batch")
    assert client.files.content(upload.id).read().decode().count("\n") == 3
    batch = client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert batch.status == "validating"
    deadline = time.monotonic() + 5
    while batch.status not in ("completed", "failed") and time.monotonic() < deadline:
        time.sleep(0.01)  # the batch runs on the server's own loop; this only paces the polling
        batch = client.batches.retrieve(batch.id)
    assert batch.status == "completed", batch
    assert (batch.request_counts.total, batch.request_counts.completed, batch.request_counts.failed) == (4, 3, 1)
    assert batch.output_file_id and batch.error_file_id
    out = [json.loads(x) for x in client.files.content(batch.output_file_id).read().decode().splitlines()]
    assert [o["custom_id"] for o in out] == ["r0", "r1", "r2"]
    for record, body in zip(out, bodies, strict=False):
        assert record["response"]["status_code"] == 200
        direct = client.chat.completions.create(**body).choices[0].message.content
        assert record["response"]["body"]["choices"][0]["message"]["content"] == direct
    errors = [json.loads(x) for x in client.files.content(batch.error_file_id).read().decode().splitlines()]
    assert errors[0]["custom_id"] == "r3" and errors[0]["response"]["status_code"] == 400


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"{broken\n", "invalid_json_line"),
        (b'{"custom_id": "a", "method": "GET", "url": "/v1/x", "body": {}}\n', "invalid_request"),
    ],
)
def test_invalid_batch_input_fails_the_batch(client: OpenAI, content: bytes, code: str) -> None:
    upload = client.files.create(file=("bad.jsonl", content), purpose="batch")
    batch = client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
    deadline = time.monotonic() + 5
    while batch.status == "validating" and time.monotonic() < deadline:
        time.sleep(0.01)
        batch = client.batches.retrieve(batch.id)
    assert batch.status == "failed" and batch.errors and batch.errors.data[0].code == code
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("batch_missing")


@pytest.mark.parametrize(
    ("path", "body", "content_type", "param"),
    [
        ("/v1/files", b"garbage", "multipart/form-data", "file"),
        ("/v1/files", b"--xx\r\ngarbage", "multipart/form-data; boundary=xx", "file"),
        ("/v1/files", b"{}", "application/json", "file"),
        ("/v1/batches", b"{}", "application/json", "input_file_id"),
        ("/v1/batches", b"[]", "application/json", None),
    ],
)
def test_bad_file_and_batch_requests_are_400(
    stub: BackgroundStub, path: str, body: bytes, content_type: str, param: str | None
) -> None:
    status, answer = raw_post(stub, path, body, {"Content-Type": content_type})
    assert status == 400 and answer["error"]["param"] == param
    assert "\n" not in answer["error"]["message"]


def test_batch_needs_a_batch_file_and_the_chat_endpoint(client: OpenAI) -> None:
    upload = client.files.create(file=("notes.jsonl", b"{}"), purpose="user_data")
    with pytest.raises(openai.BadRequestError, match="not 'batch'"):
        client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
    batch_file = client.files.create(file=("in.jsonl", b"{}"), purpose="batch")
    with pytest.raises(openai.BadRequestError, match="endpoint"):
        client.batches.create(input_file_id=batch_file.id, endpoint="/v1/embeddings", completion_window="24h")
    assert client.files.delete(upload.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(upload.id)


def test_serve_prints_banner_and_stops_on_sigterm() -> None:
    code = "from remud_gen.stub import serve, StubSettings; serve(StubSettings(port=0))"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.fullmatch(
            r"remud-gen stand-in endpoint \(NOT a model\) listening on (http://127.0.0.1:\d+/v1)\n", line
        )
        assert match, line
        with OpenAI(base_url=match.group(1), api_key="x") as c:
            assert [m.id for m in c.models.list()] == ["stand-in"]
        proc.terminate()
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0 and err == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_the_module_entry_is_the_stub_server_command() -> None:
    # one front-end: `python -m remud_gen.stub` takes the options of `remud-gen stub-server`, errors included
    module = [sys.executable, "-m", "remud_gen.stub"]
    bad = subprocess.run([*module, "--like", "nonsense"], capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        "error: --like 'nonsense': choose one of openai, llama-cpp, llama-cpp-chatml"
    ], bad.stderr
    proc = subprocess.Popen([*module, "--port", "0", "--fault", "429=0.0"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, line
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert proc.returncode == 0
