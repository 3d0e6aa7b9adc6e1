"""Journal keys and request bodies: the bytes that decide what is paid for again and what the server sees."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from openai._utils._json import openapi_dumps
from PIL import Image

from remud_gen.llm.client import Client
from remud_gen.llm.request import ChatRequest, Message, estimate_tokens
from remud_gen.llm.settings import EndpointSettings

SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string", "description": "回答 ✓"}, "z": {"enum": [1, 2.5, None]}},
    "required": ["answer"],
}


def key_as_first_released(req: ChatRequest, model: str) -> str:
    """The journal key's formula as journals on disk were written with it: it must never change."""
    canon = {
        "model": model,
        "messages": [
            {
                "role": m.role,
                "text": m.text,
                "images": [hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in m.images],
            }
            for m in req.messages
        ],
        "schema": req.schema,
        "params": dict(sorted(req.params.items())),
        "prompt_version": req.prompt_version,
    }
    blob = json.dumps(canon, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def requests(tmp_path: Path) -> list[ChatRequest]:
    image = tmp_path / "scan.png"
    Image.new("L", (8, 8), 128).save(image)
    return [
        ChatRequest(item="a", messages=[Message("user", "plain")]),
        ChatRequest(
            item="b", messages=[Message("system", "系统"), Message("user", '肝脏 "q"\n', (image,))], schema=SCHEMA
        ),
        ChatRequest(
            item="c",
            messages=[Message("user", "x")],
            schema=SCHEMA,
            params={"temperature": 0.3, "extra_body": {"b": 1, "a": [1, {"y": 2, "x": 1}]}, "max_tokens": 9},
            prompt_version="v7",
        ),
        ChatRequest(item="d", messages=[Message("user", "x")], schema={}),
    ]


def test_journal_keys_are_the_ones_earlier_versions_wrote(tmp_path: Path) -> None:
    for req in requests(tmp_path):
        for model in ("m", "模型"):
            assert req.key(model) == key_as_first_released(req, model)
    a, b = (
        ChatRequest(item="x", messages=[Message("user", "x")], schema=dict(SCHEMA)),
        ChatRequest(item="x", messages=[Message("user", "x")], schema={**SCHEMA, "required": []}),
    )
    assert a.key("m") != b.key("m")  # two schema objects are two schemas, whatever was cached for the first


@pytest.mark.parametrize("structured", ["json_schema", "prompt"])
def test_bodies_are_encoded_as_the_sdk_encodes_them(tmp_path: Path, structured: str) -> None:
    settings = EndpointSettings(model="m", structured_output=structured, seed=3)
    client = Client(settings, None, "k", schema_prompt="Answer as {schema}")
    for req in requests(tmp_path)[::-1] * 2:  # the second time round, schemas come from the cache
        body = client.body(req)
        assert client.encode(body) == openapi_dumps(body)
        extra: dict[str, Any] = {**body, "chat_template_kwargs": {"enable_thinking": True}}  # response_format not last
        assert client.encode(extra) == openapi_dumps(extra)


def test_token_estimate_counts_cjk_characters_one_each() -> None:
    assert estimate_tokens("abcdefgh") == 2
    assert estimate_tokens("肝脏超声abcd") == 5
    assert estimate_tokens("") == 0
