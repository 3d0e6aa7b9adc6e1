"""Fill a JSON schema with a value that validates against it, worded from the source text.

This is what makes the stand-in usable for structured-output plumbing: a pipeline asking for a schema gets an
answer that parses and validates, with strings that are real source sentences, so later grounding and judging
stages have realistic input. Field names steer the wording (see `hints.py`).
"""

from __future__ import annotations

import random
from typing import Any

from remud_gen.stub import scalars
from remud_gen.stub.compose import Composer
from remud_gen.stub.hints import ASSISTANT_ROLES, USER_ROLES, hint, is_negative, mentions
from remud_gen.stub.schema import LETTER_RE, is_null, resolve, type_of

_MAX_DEPTH = 32
# Past this depth optional parts are left out, so recursive schemas (trees via $ref) stay finite.
_SHALLOW_DEPTH = 6
# Guards against schemas that would make the stand-in build gigabytes (minItems: 10**9).
_MAX_ITEMS = 10_000
_MAX_CHARS = 1_000_000


def fill_schema(schema: dict[str, Any], source_text: str, seed: int, high_bias: float = 0.85) -> Any:
    """Return a value that validates against `schema`, with strings taken from `source_text`.

    Args:
        schema: a JSON schema (objects, arrays, strings, numbers, booleans, null, enum, const,
            anyOf/oneOf/allOf, local `$ref`s to `#/$defs` or `#/definitions`).
        source_text: the material to quote; its language decides the language of every string.
        seed: makes the value reproducible; the same inputs always give the same value.
        high_bias: probability that a small-range score (e.g. 1..5) lands on its top two values and that a
            boolean takes its "pass" value, so a judge backed by the stand-in keeps most items.

    Returns:
        A JSON-serialisable value.

    Raises:
        ValueError: the schema is not a dict, has an unresolvable `$ref` or nests deeper than 32 levels.
    """
    return fill_with(schema, Composer(source_text, random.Random(seed)), high_bias)


def fill_with(schema: dict[str, Any], composer: Composer, high_bias: float = 0.85) -> Any:
    """Like `fill_schema`, drawing words and choices from an existing composer (one per answer choice)."""
    if not isinstance(schema, dict):
        raise ValueError(f"schema must be a JSON object, got {type(schema).__name__}")
    return _Filler(schema, composer, high_bias).value(schema, "", 0, {})


class _Filler:
    def __init__(self, root: dict[str, Any], composer: Composer, high_bias: float) -> None:
        self.root = root
        self.c = composer
        self.rng = composer.rng
        self.high_bias = high_bias

    def value(self, schema: Any, name: str, depth: int, ctx: dict[str, Any]) -> Any:
        if depth > _MAX_DEPTH:
            raise ValueError(f"schema nests deeper than {_MAX_DEPTH} levels (recursive $ref?)")
        s = resolve(schema, self.root, prefer_null=depth > _SHALLOW_DEPTH)
        if "const" in s:
            return s["const"]
        if isinstance(s.get("enum"), list) and s["enum"]:
            return self.enum(s["enum"], name)
        kind = type_of(s, prefer_null=depth > _SHALLOW_DEPTH)
        if kind == "object":
            return self.obj(s, name, depth, ctx)
        if kind == "array":
            return self.array(s, name, depth)
        if kind == "integer":
            return scalars.integer(s, self.rng, self.high_bias)
        if kind == "number":
            return scalars.number(s, self.rng, self.high_bias)
        if kind == "boolean":
            return scalars.boolean(is_negative(name), self.rng, self.high_bias)
        if kind == "null":
            return None
        return self.string(s, name, ctx)

    def enum(self, values: list[Any], name: str) -> Any:
        options = [v for v in values if not is_null(v)] or values
        if hint(name) == "language" and self.c.lang in options:
            return self.c.lang
        # Prefer the label the source names most often (e.g. region "thyroid" or "甲状腺"), as a real model would.
        scores = [mentions(v, self.c.flat) for v in options]
        best = max(scores)
        return self.rng.choice([v for v, n in zip(options, scores, strict=True) if n == best] if best else options)

    def obj(self, s: dict[str, Any], name: str, depth: int, parent: dict[str, Any]) -> dict[str, Any]:
        props: dict[str, Any] = s["properties"] if isinstance(s.get("properties"), dict) else {}
        required = set(s.get("required") or []) if isinstance(s.get("required"), list) else set()
        keys = [k for k in props if k in required or depth <= _SHALLOW_DEPTH]
        names = [] if props else _property_names(s, self.root)
        letters = keys or names
        if hint(name) == "options" or (letters and all(LETTER_RE.fullmatch(k) for k in letters)):
            return self.option_map(s, letters)
        out: dict[str, Any] = {}
        ctx: dict[str, Any] = {"options": None}
        role_key = next((k for k in keys if k in ("role", "from")), None)
        if role_key is not None:
            out[role_key] = self.role(props[role_key], role_key, int(parent.get("index", 0)))
            ctx["role"] = out[role_key]
        # Options are filled before the answer so a letter answer can point at an existing option.
        order = sorted(keys, key=lambda k: hint(k) == "answer")
        for key in order:
            if key == role_key:
                continue
            out[key] = self.value(props[key], key, depth + 1, ctx)
            if hint(key) == "options" and isinstance(out[key], dict):
                ctx["options"] = list(out[key])
        extra = s.get("additionalProperties")
        if not props and isinstance(extra, dict):
            count = max(1, int(s.get("minProperties", 1)))
            for key in names or [f"item_{i + 1}" for i in range(count)]:
                out[key] = self.value(extra, key, depth + 1, ctx)
        return {k: out[k] for k in keys if k in out} | {k: v for k, v in out.items() if k not in props}

    def option_map(self, s: dict[str, Any], keys: list[str]) -> dict[str, Any]:
        letters = keys or ["A", "B", "C", "D", "E"]
        props = s.get("properties") or {}
        extra = s.get("additionalProperties")
        sub = [resolve(props.get(k, extra if isinstance(extra, dict) else {}), self.root) for k in letters]
        max_len = min((int(p["maxLength"]) for p in sub if "maxLength" in p), default=None)
        texts = self.c.options(len(letters), max_len)
        return {
            k: (t if type_of(p) == "string" and "enum" not in p else self.value(p, k, 1, {}))
            for k, t, p in zip(letters, texts, sub, strict=True)
        }

    def role(self, schema: Any, key: str, index: int) -> Any:
        s = resolve(schema, self.root)
        pool = [v for v in s.get("enum") or [] if isinstance(v, str)]
        defaults = ("human", "gpt") if key == "from" else ("user", "assistant")
        if "const" in s:
            return s["const"]
        if not pool:
            return defaults[index % 2]
        wanted = USER_ROLES if index % 2 == 0 else ASSISTANT_ROLES
        return next((v for v in pool if v in wanted), pool[index % len(pool)])

    def array(self, s: dict[str, Any], name: str, depth: int) -> list[Any]:
        items = s.get("items", {})
        item = resolve(items, self.root) if isinstance(items, dict) else {}
        lo = int(s.get("minItems", 0))
        hi = int(s["maxItems"]) if "maxItems" in s else None
        if lo > _MAX_ITEMS:
            raise ValueError(f"minItems {lo} is more than the stand-in builds ({_MAX_ITEMS})")
        kind = hint(name)
        item_props = item.get("properties") or {}
        is_turns = type_of(item) == "object" and ("role" in item_props or "from" in item_props)
        if depth > _SHALLOW_DEPTH:
            want = lo
        elif is_turns:
            want = self.rng.choice((2, 4))
        elif kind == "options":
            want = 5
        else:
            want = self.rng.randint(1, 3)
        count = max(lo, want if hi is None else min(want, hi))
        if is_turns and count % 2 and (hi is None or count + 1 <= hi):
            count += 1
        if kind == "options" and type_of(item) == "string" and "enum" not in item:
            return list(self.c.options(count, item.get("maxLength")))
        if kind == "evidence" and type_of(item) == "string":
            quotes = self.c.verbatim(count)
            while len(quotes) < count:
                quotes.append(quotes[len(quotes) % len(quotes)])
            return [self.fit(q, item, "evidence") for q in quotes]
        out: list[Any] = []
        for i in range(count):
            value = self.value(items, name, depth + 1, {"index": i})
            for _ in range(10 if s.get("uniqueItems") else 0):
                if value not in out:
                    break
                value = self.value(items, name, depth + 1, {"index": i})
            out.append(value)
        return out

    def string(self, s: dict[str, Any], name: str, ctx: dict[str, Any]) -> str:
        kind = hint(name)
        role = ctx.get("role")
        if kind == "evidence":
            text = self.c.verbatim(1)[0]
        elif kind == "thinking":
            text = self.c.trace()
        elif kind == "question" or role in USER_ROLES:
            kind = "question"
            text = self.c.question()
        elif kind == "language":
            text = self.c.lang
        elif kind == "answer" and ctx.get("options"):
            text = self.rng.choice(ctx["options"])
        else:
            text = self.c.passage(self.rng.randint(1, 2))
        text = self.fit(text, s, kind)
        pattern = s.get("pattern")
        if isinstance(pattern, str):
            text = scalars.match_pattern(pattern, text)
        return text

    def fit(self, text: str, s: dict[str, Any], kind: str | None) -> str:
        lo = int(s.get("minLength", 0))
        hi = int(s["maxLength"]) if "maxLength" in s else None
        if lo > _MAX_CHARS:
            raise ValueError(f"minLength {lo} is more than the stand-in writes ({_MAX_CHARS})")
        while len(text) < lo:
            text = self.c.join([text, self.c.passage(len(self.c.sents))])
        if hi is not None and len(text) > hi:
            mark = "？" if self.c.lang == "zh" else "?"
            text = text[: hi - 1].rstrip() + mark if kind == "question" and hi > 1 else text[:hi]
        return text


def _property_names(s: dict[str, Any], root: dict[str, Any]) -> list[str]:
    # dict[Literal["A", "B"], str] in pydantic becomes additionalProperties + propertyNames.enum.
    names = resolve(s.get("propertyNames"), root).get("enum")
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []
