"""Task kinds, defined entirely by files: `prompts/<kind>.{zh,en}.md` and `prompts/<kind>.schema.json`.

The schema's `x-remud` key says what a kind is built from and how its answer reads; it is removed before the schema
is sent to the model. A new kind needs these three files and its name in `synthesize.tasks`, no code.

    "x-remud": {"unit": "chunk" | "figure" | "panels", "reasoning": true | false, "mcq": true | false}

A "panels" kind is asked about every panel of one figure at once, the images attached in letter order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from typing import Any, Literal

from remud_gen.errors import ConfigError
from remud_gen.prompts import ChatPrompt, read_text, read_yaml, sha256_of
from remud_gen.records import Language


@dataclass(frozen=True)
class Task:
    """One task kind with its prompts (per language) and answer schema."""

    kind: str
    unit: Literal["chunk", "figure", "panels"]
    reasoning: bool
    mcq: bool
    schema: dict[str, Any]
    prompts: dict[str, ChatPrompt]
    phrases: dict[str, dict[str, Any]]
    version: str

    def prompt(self, language: Language) -> ChatPrompt:
        return self.prompts[language]


def load_task(kind: str, folder: Traversable) -> Task:
    """Load one task kind from ``folder``.

    Raises:
        ConfigError: a file is missing or the schema is not valid JSON with an `x-remud` description.
    """
    schema_path = folder / f"{kind}.schema.json"
    if not schema_path.is_file():
        known = sorted(p.name.removesuffix(".schema.json") for p in folder.iterdir() if p.name.endswith(".schema.json"))
        raise ConfigError(f"unknown task kind {kind!r}: no {schema_path}; known kinds: {', '.join(known)}")
    try:
        schema = json.loads(read_text(schema_path))
    except ValueError as exc:
        raise ConfigError(f"{schema_path} is not valid JSON: {exc}") from exc
    meta = schema.pop("x-remud", None)
    if not isinstance(meta, dict) or meta.get("unit") not in ("chunk", "figure", "panels"):
        raise ConfigError(f'{schema_path} needs "x-remud": {{"unit": "chunk", "figure" or "panels", ...}}')
    prompts = {}
    for lang in ("zh", "en"):
        path = folder / f"{kind}.{lang}.md"
        if not path.is_file():
            raise ConfigError(f"task {kind!r} has no {lang} prompt: create {path}")
        prompts[lang] = ChatPrompt(path)
    phrases = {lang: read_yaml(folder / f"rules.{lang}.yaml") for lang in ("zh", "en")}
    version = sha256_of(
        json.dumps(schema, sort_keys=True),
        *(p.text for p in prompts.values()),
        *(json.dumps(p) for p in phrases.values()),
    )
    return Task(
        kind=kind,
        unit=meta["unit"],
        reasoning=bool(meta.get("reasoning", False)),
        mcq=bool(meta.get("mcq", False)),
        schema=schema,
        prompts=prompts,
        phrases=phrases,
        version=version[:16],
    )
