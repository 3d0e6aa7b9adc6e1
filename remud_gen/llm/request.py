"""A request to the model, described so that it can be hashed, journaled and replayed.

Images are referenced by path and identified by content hash: the journal key of a request never depends on where an
image lives or on its base64 encoding, and no image bytes are ever written to a file we own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from remud_gen.hashing import file_digest
from remud_gen.records import Role
from remud_gen.text.lang import count_cjk


@dataclass(frozen=True)
class Message:
    """One chat message: text plus zero or more images (sent after the text, in order)."""

    role: Role
    text: str
    images: tuple[Path, ...] = ()


@dataclass
class ChatRequest:
    """One unit of work for the model.

    Attributes:
        item: the id of the unit of work (a chunk or a figure panel and a task), used in failures and progress.
        messages: the conversation to send.
        schema: JSON schema the answer must follow (sent as ``response_format``), or None for free text.
        schema_name: name sent with the schema.
        prompt_version: hash of the prompt files, so editing a prompt invalidates the journal entries it made.
        params: sampling overrides (temperature, top_p, max_tokens, seed, n).
        parse: turns the answer text into a value, raising ``ValueError`` when it cannot; the client repairs, re-asks,
            then records a failure. None accepts any non-empty text.
        meta: anything the caller wants back with the result (not hashed, not sent).
        cut_is_failure: an answer cut off at max_tokens is a failure (re-asked with more room), even when it repairs
            into a value: a judge's scores without the rationale they rest on are no verdict. Otherwise a cut
            answer is repaired where ``parse`` accepts it (synthesize keeps the whole items of a cut list).
    """

    item: str
    messages: list[Message]
    schema: dict[str, Any] | None = None
    schema_name: str = "answer"
    prompt_version: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    parse: Callable[[str], Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    cut_is_failure: bool = False
    # The key is asked for twice per request (journal look-up, then send) and hashing a schema-sized canonical JSON
    # was a fifth of the client's CPU per request; a request is never changed after it is built.
    _keys: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def key(self, shape: str) -> str:
        """The journal key: a hash of the request and of ``shape``, the rest of what determines the answer.

        ``shape`` is what the client adds (model, sampling, structured-output mode: `BodyWriter.shape`).
        """
        known = self._keys.get(shape)
        if known is not None:
            return known
        canon = {
            "endpoint": shape,
            "messages": [
                {"role": m.role, "text": m.text, "images": [file_sha256(str(p)) for p in m.images]}
                for m in self.messages
            ],
            "params": self.params,
            "prompt_version": self.prompt_version,
        }
        # The canonical JSON of everything with "schema" included; that key sorts last, so its text (kept per schema
        # object, `_schema_json`) closes the object as one sorted dump of the whole would. Keys must not change
        # from one version to the next: a journal is read again by later runs (tests/test_llm_request.py).
        blob = _canonical(canon)[:-1] + ',"schema":' + _schema_json(self.schema) + "}"
        key = self._keys[shape] = hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]
        return key

    def image_count(self) -> int:
        return sum(len(m.images) for m in self.messages)

    def text_chars(self) -> str:
        return "".join(m.text for m in self.messages)


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


_SCHEMAS: dict[int, tuple[Any, str]] = {}  # id -> (schema, canonical JSON); a run has a handful of schemas


def _schema_json(schema: dict[str, Any] | None) -> str:
    """A schema's canonical JSON, made once per schema object (schemas are built per task and never changed after):
    encoding it was over half of each key's cost."""
    known = _SCHEMAS.get(id(schema))
    if known is not None and known[0] is schema:
        return known[1]
    if len(_SCHEMAS) >= 256:
        _SCHEMAS.clear()
    text = _canonical(schema)
    _SCHEMAS[id(schema)] = (schema, text)
    return text


@lru_cache(maxsize=65536)
def file_sha256(path: str) -> str:
    """Content hash of a file, cached per path for the life of the process."""
    return file_digest(Path(path))


def estimate_tokens(text: str) -> int:
    """Rough token count: one per CJK character, one per four other characters."""
    cjk = count_cjk(text)  # runs found in C: a per-character loop here was the client's largest cost per request
    return cjk + (len(text) - cjk + 3) // 4
