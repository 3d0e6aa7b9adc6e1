"""Small JSON-schema helpers for the filler: follow `$ref`s, pick a branch, read the type.

Only what a structured-output request uses in practice is covered; anything else is read as "no constraint".
"""

from __future__ import annotations

import re
from typing import Any

LETTER_RE = re.compile(r"[A-H]")
_MAX_HOPS = 64


def is_null(value: Any) -> bool:
    """True for the JSON null value."""
    return value is None


def resolve(schema: Any, root: dict[str, Any], prefer_null: bool = False) -> dict[str, Any]:
    """Return `schema` with `$ref`, `allOf` and `anyOf`/`oneOf` replaced by one concrete sub-schema.

    Args:
        schema: the schema to resolve; anything that is not a dict reads as the empty schema.
        root: the document local `$ref`s point into (`#/$defs/X`, `#/definitions/X`).
        prefer_null: pick a null branch when there is one (used deep in recursive schemas); otherwise the
            first non-null branch is taken.

    Raises:
        ValueError: a `$ref` cannot be resolved or the chain of references does not end.
    """
    s: dict[str, Any] = schema if isinstance(schema, dict) else {}
    for _ in range(_MAX_HOPS):
        if isinstance(s.get("$ref"), str):
            target = _pointer(root, s["$ref"])
            s = {**target, **{k: v for k, v in s.items() if k != "$ref"}}
            continue
        if isinstance(s.get("allOf"), list):
            s = _merge_all({k: v for k, v in s.items() if k != "allOf"}, s["allOf"], root)
            continue
        key = "anyOf" if isinstance(s.get("anyOf"), list) and s["anyOf"] else None
        key = key or ("oneOf" if isinstance(s.get("oneOf"), list) and s["oneOf"] else None)
        if key is None:
            return s
        branches = [b for b in s[key] if isinstance(b, dict)] or [{}]
        nulls = [b for b in branches if _is_null_schema(b, root)]
        others = [b for b in branches if b not in nulls]
        pick = nulls[0] if prefer_null and nulls else (others or branches)[0]
        s = {**{k: v for k, v in s.items() if k != key}, **pick}
    raise ValueError("schema $ref chain does not end")


def type_of(s: dict[str, Any], prefer_null: bool = False) -> str:
    """The JSON type a resolved schema asks for; a type list gives its first non-null entry."""
    t = s.get("type")
    if isinstance(t, list):
        names = [x for x in t if isinstance(x, str)]
        if prefer_null and "null" in names:
            return "null"
        return next((x for x in names if x != "null"), "null" if names else "string")
    if isinstance(t, str):
        return t
    if "properties" in s or "additionalProperties" in s:
        return "object"
    if "items" in s:
        return "array"
    return "string"


def _pointer(root: dict[str, Any], ref: str) -> dict[str, Any]:
    if not ref.startswith("#"):
        raise ValueError(f"only local $ref are supported, got {ref!r}")
    node: Any = root
    for part in filter(None, ref[1:].split("/")):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            raise ValueError(f"unresolvable $ref {ref!r}")
        node = node[part]
    if not isinstance(node, dict):
        raise ValueError(f"$ref {ref!r} does not point at a schema")
    return node


def _merge_all(base: dict[str, Any], parts: list[Any], root: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    props: dict[str, Any] = dict(base.get("properties") or {})
    required: list[str] = list(base.get("required") or [])
    for part in parts:
        sub = resolve(part, root)
        props.update(sub.get("properties") or {})
        required += [r for r in sub.get("required") or [] if r not in required]
        merged.update({k: v for k, v in sub.items() if k not in ("properties", "required")})
    if props:
        merged["properties"] = props
    if required:
        merged["required"] = required
    return merged


def _is_null_schema(branch: dict[str, Any], root: dict[str, Any]) -> bool:
    if isinstance(branch.get("$ref"), str):
        try:
            branch = _pointer(root, branch["$ref"])
        except ValueError:
            return False
    return branch.get("type") == "null" or branch.get("const", 0) is None or branch.get("enum") == [None]


def schema_from_example(example: Any) -> dict[str, Any]:
    """Infer a schema from an example JSON value, as a model infers the wanted shape from a prompt's example.

    Args:
        example: a decoded JSON value, typically the first JSON object quoted in a prompt.

    Returns:
        A schema the example itself validates against; small integers (1..5) and fractions (0..1) keep their range.
    """
    if isinstance(example, dict):
        props = {str(k): schema_from_example(v) for k, v in example.items()}
        return {"type": "object", "properties": props, "required": list(props)}
    if isinstance(example, list):
        item = schema_from_example(example[0]) if example else {"type": "string"}
        return {"type": "array", "items": item, "minItems": 1}
    if isinstance(example, bool):
        return {"type": "boolean"}
    if isinstance(example, int):
        return {"type": "integer", "minimum": 1, "maximum": 5} if 1 <= example <= 5 else {"type": "integer"}
    if isinstance(example, float):
        return {"type": "number", "minimum": 0, "maximum": 1} if 0 <= example <= 1 else {"type": "number"}
    return {"type": "string"}
