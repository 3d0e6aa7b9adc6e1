"""fill_schema: every value validates against its schema, is worded from the source and follows the field hints."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from remud_gen.stub.fill import fill_schema
from remud_gen.stub.text import count_tokens, mentions_figure, normalise, sentences, source_text

EN = """Chapter 3 Thyroid
The thyroid gland lies anterior to the trachea and has two lobes joined by the isthmus. Each lobe measures
4-6 cm in length (Fig. 3-2). Papillary carcinoma typically appears as a hypoechoic solid nodule with
microcalcifications. As shown in Figure 4, the isthmus is thin. Colour Doppler shows increased vascularity
in Graves disease, e.g. the thyroid inferno pattern. A taller-than-wide shape suggests malignancy."""
ZH = """第三章 甲状腺
甲状腺位于气管前方，由两侧叶和峡部组成。每个侧叶长约4～6厘米（图3-2）。乳头状癌通常表现为低回声实性结节，
伴微钙化。如图4所示，峡部较薄。彩色多普勒显示格雷夫斯病血流信号明显增多，呈“火海征”。纵横比大于1提示恶性。"""
SEEDS = range(6)
CJK = re.compile(r"[\u4e00-\u9fff]")


def check(value: Any, schema: Any, root: dict[str, Any] | None = None, path: str = "$") -> list[str]:
    """A minimal JSON-schema validator covering what fill_schema claims to support."""
    root = schema if root is None else root
    if schema is True or schema == {}:
        return []
    if schema is False:
        return [f"{path}: nothing allowed"]
    if "$ref" in schema:
        node: Any = root
        for part in schema["$ref"][2:].split("/"):
            node = node[part]
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        return check(value, node, root, path) + check(value, rest, root, path)
    errors: list[str] = []
    for sub in schema.get("allOf", []):
        errors += check(value, sub, root, path)
    if "anyOf" in schema and not any(not check(value, s, root, path) for s in schema["anyOf"]):
        errors.append(f"{path}: matches no anyOf branch")
    if "oneOf" in schema and sum(not check(value, s, root, path) for s in schema["oneOf"]) != 1:
        errors.append(f"{path}: does not match exactly one oneOf branch")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: {value!r} != const {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in enum")
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(value, t) for t in types):
            return [*errors, f"{path}: {value!r} is not of type {types}"]
    if isinstance(value, dict):
        errors += _check_object(value, schema, root, path)
    elif isinstance(value, list):
        errors += _check_array(value, schema, root, path)
    elif isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", 10**9):
            errors.append(f"{path}: length {len(value)} out of bounds")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        errors += _check_number(value, schema, path)
    return errors


def _is_type(value: Any, name: str) -> bool:
    return {
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "null": value is None,
    }[name]


def _check_object(value: dict[str, Any], schema: dict[str, Any], root: dict[str, Any], path: str) -> list[str]:
    props = schema.get("properties", {})
    errors = [f"{path}: missing {k}" for k in schema.get("required", []) if k not in value]
    for key, item in value.items():
        if key in props:
            errors += check(item, props[key], root, f"{path}.{key}")
        elif schema.get("additionalProperties") is False:
            errors.append(f"{path}: unexpected {key}")
        elif isinstance(schema.get("additionalProperties"), dict):
            errors += check(item, schema["additionalProperties"], root, f"{path}.{key}")
    return errors


def _check_array(value: list[Any], schema: dict[str, Any], root: dict[str, Any], path: str) -> list[str]:
    errors = []
    if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", 10**9):
        errors.append(f"{path}: {len(value)} items out of bounds")
    if schema.get("uniqueItems") and len({json.dumps(v, sort_keys=True) for v in value}) != len(value):
        errors.append(f"{path}: items not unique")
    for i, item in enumerate(value):
        errors += check(item, schema.get("items", {}), root, f"{path}[{i}]")
    return errors


def _check_number(value: float, schema: dict[str, Any], path: str) -> list[str]:
    ok = schema.get("minimum", -(10**18)) <= value <= schema.get("maximum", 10**18)
    ok = ok and value > schema.get("exclusiveMinimum", -(10**18)) and value < schema.get("exclusiveMaximum", 10**18)
    ok = ok and ("multipleOf" not in schema or value % schema["multipleOf"] == 0)
    return [] if ok else [f"{path}: {value} out of bounds"]


def strings(value: Any) -> list[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    text: str = Field(min_length=1)


class VqaItem(BaseModel):
    question: str
    options: dict[Literal["A", "B", "C", "D", "E"], str]
    answer: Literal["A", "B", "C", "D", "E"]
    thinking: str
    evidence: list[str] = Field(min_length=1, max_length=3)
    turns: list[Turn] = Field(min_length=2, max_length=6)
    region: Literal["thyroid", "breast", "liver", "other"]
    note: str | None = None
    confidence: float = Field(ge=0, le=1)


class Node(BaseModel):
    label: str
    children: list[Node] = Field(default_factory=list)


LETTERS = ["A", "B", "C", "D", "E"]
SCHEMAS: dict[str, dict[str, Any]] = {
    "flat object": {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}, "c": {"type": "boolean"}},
        "required": ["a", "b", "c"],
        "additionalProperties": False,
    },
    "string bounds": {"type": "string", "minLength": 300, "maxLength": 320},
    "short string": {"type": "string", "maxLength": 5},
    "question cut": {"type": "object", "properties": {"question": {"type": "string", "maxLength": 25}}},
    "array bounds": {"type": "array", "items": {"type": "string"}, "minItems": 4, "maxItems": 4},
    "unique enum items": {"type": "array", "items": {"enum": ["x", "y", "z"]}, "maxItems": 1, "uniqueItems": True},
    "numbers": {
        "type": "object",
        "properties": {
            "i": {"type": "integer", "minimum": -3, "maximum": 3},
            "x": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 2},
            "m": {"type": "integer", "minimum": 1, "maximum": 100, "multipleOf": 7},
            "f": {"type": "number", "minimum": 0.5, "maximum": 0.6},
            "g": {"type": "number", "exclusiveMinimum": 1},
        },
        "required": ["i", "x", "m", "f", "g"],
    },
    "nullable list": {"type": ["string", "null"]},
    "null only": {"type": "null"},
    "const": {"type": "object", "properties": {"kind": {"const": "vqa"}, "v": {"const": 3}}},
    "anyOf first non-null": {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 7, "maximum": 7}]},
    "oneOf": {"oneOf": [{"type": "string", "maxLength": 3}, {"type": "array", "items": {"type": "integer"}}]},
    "allOf": {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"properties": {"b": {"type": "integer", "minimum": 1, "maximum": 2}}, "required": ["b"]},
        ]
    },
    "definitions ref": {
        "type": "object",
        "properties": {"x": {"$ref": "#/definitions/Score"}},
        "required": ["x"],
        "definitions": {"Score": {"type": "integer", "minimum": 1, "maximum": 5}},
    },
    "options map": {
        "type": "object",
        "properties": {"options": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 30}}},
        "required": ["options"],
    },
    "options array": {
        "type": "object",
        "properties": {"options": {"type": "array", "items": {"type": "string"}, "minItems": 4, "maxItems": 5}},
    },
    "letter pattern": {"type": "object", "properties": {"answer": {"type": "string", "pattern": "^[A-E]$"}}},
    "sharegpt": {
        "type": "object",
        "properties": {
            "conversations": {
                "type": "array",
                "minItems": 2,
                "items": {
                    "type": "object",
                    "properties": {"from": {"enum": ["human", "gpt"]}, "value": {"type": "string"}},
                    "required": ["from", "value"],
                },
            }
        },
    },
    "judge": {
        "type": "object",
        "properties": {
            "score": {"type": "integer", "minimum": 1, "maximum": 5},
            "grounded": {"type": "boolean"},
            "reasoning": {"type": "string"},
        },
        "required": ["score", "grounded", "reasoning"],
        "additionalProperties": False,
    },
    "property names": {
        "type": "object",
        "properties": {
            "labels": {
                "type": "object",
                "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 9},
                "propertyNames": {"enum": ["left", "right"]},
            }
        },
        "required": ["labels"],
    },
    "no type hints": {"properties": {"items": {"items": {"type": "integer"}}}},
    "vqa (pydantic)": VqaItem.model_json_schema(),
    "recursive (pydantic)": Node.model_json_schema(),
}


@pytest.mark.parametrize("source", [EN, ZH], ids=["en", "zh"])
@pytest.mark.parametrize("name", list(SCHEMAS))
def test_value_validates_and_is_clean(name: str, source: str) -> None:
    schema = SCHEMAS[name]
    for seed in SEEDS:
        value = fill_schema(schema, source, seed)
        assert check(value, schema) == [], (name, seed, value)
        json.dumps(value)
        for text in strings(value):
            assert not mentions_figure(text), text
            if source is EN:
                assert not CJK.search(text), text


def test_chinese_source_gives_chinese_sentences() -> None:
    value = fill_schema(SCHEMAS["vqa (pydantic)"], ZH, 3)
    for key in ("question", "thinking", "evidence", "turns"):
        assert CJK.search(json.dumps(value[key], ensure_ascii=False)), key
    assert value["question"].endswith("？")


def test_pydantic_models_accept_the_value() -> None:
    for seed in SEEDS:
        item = VqaItem.model_validate(fill_schema(VqaItem.model_json_schema(), EN, seed))
        assert item.answer in item.options
        Node.model_validate(fill_schema(Node.model_json_schema(), EN, seed))
        assert sorted(fill_schema(SCHEMAS["property names"], EN, seed)["labels"]) == ["left", "right"]


@pytest.mark.parametrize("source", [EN, ZH], ids=["en", "zh"])
def test_field_hints(source: str) -> None:
    flat = normalise(source)
    mark = "？" if source is ZH else "?"
    for seed in SEEDS:
        value = fill_schema(SCHEMAS["vqa (pydantic)"], source, seed)
        assert all(quote in flat for quote in value["evidence"]), value["evidence"]
        assert value["question"].endswith(mark)
        steps = value["thinking"].splitlines()
        assert 3 <= len(steps) <= 5
        assert steps[0].startswith("第1步：" if source is ZH else "Step 1: ")
        assert sorted(value["options"]) == LETTERS
        assert len(set(value["options"].values())) == 5
        assert value["region"] == "thyroid"
        roles = [t["role"] for t in value["turns"]]
        assert roles[:2] == ["user", "assistant"]
        assert value["turns"][0]["text"].endswith(mark)


def test_answer_letters_and_scores_spread_with_high_bias() -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"enum": LETTERS}, "score": {"type": "integer", "minimum": 1, "maximum": 5}},
    }
    values = [fill_schema(schema, EN, seed) for seed in range(300)]
    assert {v["answer"] for v in values} == set(LETTERS)
    high = sum(v["score"] >= 4 for v in values) / len(values)
    assert 0.8 < high < 0.98
    assert {v["score"] for v in values} == {1, 2, 3, 4, 5}
    low = [fill_schema(schema, EN, seed, high_bias=0.0)["score"] for seed in range(300)]
    assert sum(s >= 4 for s in low) / len(low) < 0.6


def test_negative_booleans_lean_false() -> None:
    schema = {
        "type": "object",
        "properties": {"uses_outside_knowledge": {"type": "boolean"}, "ok": {"type": "boolean"}},
    }
    values = [fill_schema(schema, EN, seed) for seed in range(200)]
    assert sum(v["uses_outside_knowledge"] for v in values) < 40
    assert sum(v["ok"] for v in values) > 160


def test_deterministic_per_seed() -> None:
    schema = SCHEMAS["vqa (pydantic)"]
    assert fill_schema(schema, EN, 11) == fill_schema(schema, EN, 11)
    assert len({json.dumps(fill_schema(schema, EN, s)) for s in SEEDS}) == len(SEEDS)


@pytest.mark.parametrize(
    ("source", "expected"),
    [("", "The source provided no usable text."), ("   ", "The source provided no usable text."), ("见图3。", "原文")],
)
def test_empty_or_figure_only_source_still_validates(source: str, expected: str) -> None:
    value = fill_schema(SCHEMAS["vqa (pydantic)"], source, 0)
    assert check(value, SCHEMAS["vqa (pydantic)"]) == []
    assert expected in value["evidence"][0]


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"$ref": "#/$defs/Missing"}, "unresolvable"),
        ({"$ref": "http://example.com/s.json"}, "only local"),
        ({"type": "object", "properties": {"a": {"$ref": "#"}}, "required": ["a"]}, "deeper than"),
        ({"$ref": "#"}, "does not end"),
        ({"type": "array", "items": {"type": "string"}, "minItems": 10**9}, "minItems"),
        ({"type": "string", "minLength": 10**7}, "minLength"),
        ({"type": "integer", "minimum": 5, "maximum": 4}, "no integer"),
        ({"type": "integer", "minimum": 1.2, "maximum": 1.8}, "no integer"),
        ({"type": "number", "minimum": 2, "maximum": 1}, "no number"),
        (
            {"properties": {"options": {"type": "array", "items": {"maxLength": 1}, "minItems": 100}}},
            "distinct options",
        ),
        ({"$defs": {"A": {"$ref": "#/$defs/A"}}, "$ref": "#/$defs/A"}, "does not end"),
    ],
)
def test_bad_schemas_raise_value_error(schema: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fill_schema(schema, EN, 0)


def test_non_dict_schema_raises() -> None:
    with pytest.raises(ValueError, match="JSON object"):
        fill_schema(["not", "a", "schema"], EN, 0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("F I G U R E 2 How fetal data flow", True),
        ("Figure\u00a01.\u2002Lung B-lines", True),
        ("Fig.\u202f1\u2002Echo views", True),
        ("as shown in figure 3", True),
        ("Panel B shows the nodule", True),
        ("如图3-1所示", True),
        ("见图", True),
        ("The figure of merit is high", False),
        ("configure 3 probes", False),
        ("图像清晰，回声均匀", False),
    ],
)
def test_mentions_figure(text: str, expected: bool) -> None:
    assert mentions_figure(text) is expected


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        (
            "The lobe is 4 cm long (Fig. 3-2). The isthmus is thin.",
            "en",
            ["The lobe is 4 cm long.", "The isthmus is thin."],
        ),
        ("Use a probe, e.g. a linear one. Scan slowly.", "en", ["Use a probe, e.g. a linear one.", "Scan slowly."]),
        ("See Fig. 4. Doppler shows flow in the vessel.", "en", ["Doppler shows flow in the vessel."]),
        ("甲状腺位于气\n管前方。如图3所示，峡部较薄。", "zh", ["甲状腺位于气管前方。", "峡部较薄。"]),
        ("回声均匀。回声均匀。", "zh", ["回声均匀。"]),
    ],
)
def test_sentences(text: str, language: str, expected: list[str]) -> None:
    assert [s.text for s in sentences(text, language)] == expected


@pytest.mark.parametrize(
    ("texts", "last_user", "expected"),
    [
        (["sys <source> A. </source>", "x <source>B.</source> y <source> </source>"], "x", "A.\nB."),
        (["no tags here"], "the user text", "the user text"),
        (["<source>unterminated"], "fallback", "fallback"),
    ],
)
def test_source_text(texts: list[str], last_user: str, expected: str) -> None:
    assert source_text(texts, last_user) == expected


@pytest.mark.parametrize(
    ("text", "tokens"), [("", 0), ("abcd" * 10, 10), ("abcde", 2), ("超声", 2), ("B超 检查", 3 + 1)]
)
def test_count_tokens(text: str, tokens: int) -> None:
    assert count_tokens(text) == tokens
