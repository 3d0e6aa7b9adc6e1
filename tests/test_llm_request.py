"""Journal keys and request bodies: the bytes that decide what is paid for again and what the server sees."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from remud_gen.llm.client import Client
from remud_gen.llm.request import ChatRequest, Message, estimate_tokens
from remud_gen.llm.settings import EndpointSettings

SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string", "description": "回答 ✓"}, "z": {"enum": [1, 2.5, None]}},
    "required": ["answer"],
}


def key_formula(req: ChatRequest, shape: str) -> str:
    """The journal key's formula as journals on disk are written with it: it must not change from here on.

    ``shape`` is what the client adds to the request (model, sampling, structured-output mode); keys written before
    it was part of them are not read (they could not tell an answer made one way from one made another).
    """
    canon = {
        "endpoint": shape,
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


def test_journal_keys_follow_one_formula(tmp_path: Path) -> None:
    for req in requests(tmp_path):
        for shape in ("m", "模型", Client(EndpointSettings(model="m"), None, "k").writer.shape(req)):
            assert req.key(shape) == key_formula(req, shape)
    a, b = (
        ChatRequest(item="x", messages=[Message("user", "x")], schema=dict(SCHEMA)),
        ChatRequest(item="x", messages=[Message("user", "x")], schema={**SCHEMA, "required": []}),
    )
    assert a.key("m") != b.key("m")  # two schema objects are two schemas, whatever was cached for the first


@pytest.mark.parametrize(
    "change",
    [
        {"structured_output": "prompt"},
        {"structured_output": "json_object"},
        {"model": "other"},
        {"temperature": 0.2},
        {"top_p": 0.5},
        {"max_tokens": 512},
        {"seed": 7},
    ],
)
def test_everything_that_shapes_a_request_is_in_its_key(tmp_path: Path, change: dict[str, Any]) -> None:
    # an answer made in one mode (or with other sampling) was served for the other from the journal
    req = requests(tmp_path)[1]
    base = EndpointSettings(model="m", structured_output="json_schema")
    before = Client(base, None, "k", schema_prompt="As {schema}").key(req)
    after = Client(base.model_copy(update=change), None, "k", schema_prompt="As {schema}").key(req)
    assert before != after


def test_the_schema_instruction_is_in_the_key_in_prompt_mode(tmp_path: Path) -> None:
    req = requests(tmp_path)[1]
    settings = EndpointSettings(model="m", structured_output="prompt")
    assert Client(settings, None, "k", "As {schema}").key(req) != Client(settings, None, "k", "Be {schema}").key(req)


def test_token_estimate_counts_cjk_characters_one_each() -> None:
    assert estimate_tokens("abcdefgh") == 2
    assert estimate_tokens("肝脏超声abcd") == 5
    assert estimate_tokens("") == 0
