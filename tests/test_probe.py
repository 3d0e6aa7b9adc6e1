"""Servers that are not OpenAI: the probe finds what they understand, and stages send only that.

The stand-in imitates llama-cpp-python 0.3.36's server as measured (remud_gen/stub/settings.py, IMITATIONS):
json_schema refused with a 500, json_object + schema applied, content parts failing (its GGUF template) or dropped
without a word (its chatml template).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, cast

import openai
import pytest
from chunk_work import jsonl
from openai import OpenAI
from typer.testing import CliRunner

from remud_gen.cli import app
from remud_gen.stub import BackgroundStub, StubSettings

runner = CliRunner()
TEXT_TASKS = ["--task", "qa", "--task", "qa-reasoning"]


def chats(stub: BackgroundStub) -> int:
    return int(stub.stats()["by_path"].get("/v1/chat/completions", 0))


def fresh(extracted: Path, tmp_path: Path, config: str = "") -> tuple[Path, list[str]]:
    work = tmp_path / "work"
    shutil.copytree(extracted, work)
    args = ["--model", "stand-in"]
    if config:
        (tmp_path / "c.yaml").write_text(config, encoding="utf-8")
        args += ["-c", str(tmp_path / "c.yaml")]
    return work, args


def synthesize(work: Path, stub: BackgroundStub, args: list[str], *more: str) -> Any:
    return runner.invoke(app, ["synthesize", str(work), "--base-url", stub.base_url, *args, *more])


def test_the_stand_in_refuses_and_drops_as_llama_cpp_does() -> None:
    colour = {"type": "object", "properties": {"c": {"type": "string", "enum": ["red"]}}, "required": ["c"]}
    text = "liver cyst " * 100
    with BackgroundStub(StubSettings.like("llama-cpp-chatml")) as stub:
        client = OpenAI(base_url=stub.base_url, api_key="x", max_retries=0)
        fmt: Any = {"type": "json_schema", "json_schema": {"name": "c", "schema": colour}}
        with pytest.raises(openai.APIStatusError) as refused:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], response_format=fmt)
        # the error object's own words: how an SDK release words its exception text differs (3.0 writes the whole body)
        assert refused.value.status_code == 500
        assert "Input should be 'text' or 'json_object'" in cast(dict[str, str], refused.value.body)["message"]
        fmt = {"type": "json_object", "schema": colour}
        ask: Any = [{"role": "user", "content": "x"}]
        answer = client.chat.completions.create(model="m", messages=ask, response_format=fmt)
        assert json.loads(answer.choices[0].message.content or "") == {"c": "red"}
        as_string = client.chat.completions.create(model="m", messages=[{"role": "user", "content": text}])
        parts: Any = [{"type": "text", "text": text}]
        as_parts = client.chat.completions.create(model="m", messages=[{"role": "user", "content": parts}])
        assert as_string.usage and as_parts.usage and as_parts.usage.prompt_tokens < as_string.usage.prompt_tokens / 10
    with BackgroundStub(StubSettings.like("llama-cpp")) as stub:
        client = OpenAI(base_url=stub.base_url, api_key="x", max_retries=0)
        with pytest.raises(Exception, match="can only concatenate str"):
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": parts}])


def test_default_settings_work_against_a_llama_cpp_like_server(extracted: Path, tmp_path: Path) -> None:
    work, args = fresh(extracted, tmp_path)
    with BackgroundStub(StubSettings.like("llama-cpp")) as stub:
        result = synthesize(work, stub, args, *TEXT_TASKS)
        assert result.exit_code == 0, result.output
        assert "json_object + schema" in result.output and "json_schema: refused (http_500)" in result.output
        assert stub.stats()["by_status"].get("500", 0) == 1, "the probe's json_schema request, once, never retried"
        made = jsonl(work / "synthesize" / "samples.jsonl")
        assert made and jsonl(work / "synthesize" / "failures.jsonl") == []
        manifest = json.loads((work / "manifest.json").read_text())
        assert manifest["stages"]["synthesize"]["endpoint_probe"]["mode"] == "json_object"
        # the next stage reads what was found and sends no probe
        before = chats(stub)
        result = runner.invoke(app, ["filter", str(work), "--base-url", stub.base_url, *args])
        assert result.exit_code == 0, result.output
        assert "probed earlier" in result.output
        judged = json.loads((work / "manifest.json").read_text())["stages"]["filter"]["usage"]["requests"]
        assert chats(stub) - before == judged


def test_a_refused_feature_stops_the_stage_at_once_with_the_servers_whole_message(
    extracted: Path, tmp_path: Path
) -> None:
    # json_schema set by hand against a server that refuses it with a 500: once retried 7 times an item
    config = "endpoint:\n  structured_output: json_schema\n  backoff_base_s: 0.01\n  backoff_max_s: 0.02\n"
    work, args = fresh(extracted, tmp_path, config)
    with BackgroundStub(StubSettings.like("llama-cpp")) as stub:
        result = synthesize(work, stub, args, *TEXT_TASKS, "--concurrency", "1")
        assert result.exit_code == 3, result.output
        assert chats(stub) == 1
    said = " ".join(result.output.split())
    assert "Input should be 'text' or 'json_object'" in said, "the whole message, not its first line"
    assert "endpoint.structured_output: auto" in said


def test_a_schema_in_the_prompt_reaches_a_server_that_drops_content_parts(extracted: Path, tmp_path: Path) -> None:
    work, args = fresh(extracted, tmp_path, "endpoint:\n  structured_output: prompt\n")
    with BackgroundStub(StubSettings.like("llama-cpp-chatml")) as stub:
        result = synthesize(work, stub, args, *TEXT_TASKS)
        assert result.exit_code == 0, result.output
        usage = json.loads((work / "manifest.json").read_text())["stages"]["synthesize"]["usage"]
    assert usage["ok"] == usage["requests"] > 0
    # a request carries a source of a few hundred characters, a prompt and a schema: far more than empty turns
    assert usage["prompt_tokens"] / usage["requests"] > 300


def test_images_for_a_text_only_server_stop_the_stage_before_it_spends(extracted: Path, tmp_path: Path) -> None:
    work, args = fresh(extracted, tmp_path)
    with BackgroundStub(StubSettings.like("llama-cpp-chatml")) as stub:
        result = synthesize(work, stub, args)
        assert result.exit_code == 3, result.output
        assert chats(stub) <= 5, "only the probe's requests"
    said = " ".join(result.output.split())
    assert "takes no images" in said and "vqa" in said and "content parts dropped" in said
    assert not (work / "synthesize" / "samples.jsonl").exists()


def test_a_base_url_without_v1_says_so(extracted: Path, tmp_path: Path) -> None:
    work, args = fresh(extracted, tmp_path)
    with BackgroundStub() as stub:
        bare = stub.base_url.removesuffix("/v1")
        result = runner.invoke(app, ["synthesize", str(work), "--base-url", bare, *args, *TEXT_TASKS])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert f"set endpoint.base_url to {bare}/v1" in said and "endpoint.model" not in said
