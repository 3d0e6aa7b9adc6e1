"""The questions of an eval file: ShareGPT records (a JSON array like test.json or a shard, or JSON lines).

Each record becomes an `EvalItem`: the turns to send (history plus the last human turn, `<image>` tokens
replaced by the images themselves), the item's own system turn, and the key read from the last gpt turn's
`<answer>` tag. Images are paths relative to the data file ("./x.png" and "images/x.png" alike) or absolute. A
record that cannot be asked (no question, a missing image, a key that is not an option letter) is set aside
with the reason; a record with no `<answer>` tag is not a multiple-choice question and is counted apart.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from remud_gen.errors import InputError
from remud_gen.eval.extract_answer import normalise_choice
from remud_gen.filter.rules import IMAGE_TOKEN
from remud_gen.io import iter_json_lines, read_json
from remud_gen.llm.request import Message
from remud_gen.records import Role
from remud_gen.text.lang import language_of

ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
_ROLE: dict[str, Role] = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant"}


@dataclass(frozen=True)
class EvalItem:
    """One multiple-choice question, ready to be asked."""

    id: str
    kind: str
    language: str
    region: str
    key: str
    system: str | None
    turns: tuple[Message, ...]


@dataclass
class EvalData:
    """The questions of a file and what was set aside."""

    items: list[EvalItem] = field(default_factory=list)
    records: int = 0
    not_mcq: list[str] = field(default_factory=list)
    bad_keys: list[dict[str, str]] = field(default_factory=list)  # {"id", "key"}: a key that is no option letter
    problems: list[dict[str, str]] = field(default_factory=list)  # {"id", "reason"}: records that cannot be asked


def read_records(path: Path) -> list[Any]:
    """The raw records of a JSON array file or a JSON-lines file.

    Raises:
        InputError: the file is missing, unreadable, or neither a JSON array nor JSON lines.
    """
    if not path.is_file():
        raise InputError(f"eval data {path} does not exist")
    try:
        if path.suffix.lower() == ".jsonl":
            return list(iter_json_lines(path))
        data = read_json(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read eval data {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"eval data {path} is not valid JSON (line {exc.lineno}): {exc.msg}") from exc
    if not isinstance(data, list):
        raise InputError(f"eval data {path} must be a JSON array of ShareGPT records (or a .jsonl file)")
    return data


def load(path: Path, letters: str) -> EvalData:
    """Read the questions of ``path``; images are resolved relative to its folder.

    Args:
        path: a ShareGPT JSON array (test.json, a shard) or JSON-lines file.
        letters: the option letters a key may be.
    """
    records = read_records(path)
    data = EvalData(records=len(records))
    for record, rid in zip(records, record_ids(records), strict=True):
        try:
            item = _item(record, rid, path.parent, letters, data)
        except ValueError as exc:
            data.problems.append({"id": rid, "reason": str(exc)})
            continue
        if item is not None:
            data.items.append(item)
    return data


def _item(record: Any, rid: str, base: Path, letters: str, data: EvalData) -> EvalItem | None:
    conversation = record.get("conversations", record.get("messages")) if isinstance(record, dict) else None
    if not isinstance(conversation, list):
        raise ValueError("not a ShareGPT record (no conversations list)")
    own = record.get("system")
    system = own.strip() or None if isinstance(own, str) else None
    turns: list[tuple[Role, str]] = []
    urls: list[str] = []
    for turn in conversation:
        # ShareGPT's from/value, or the role/content of the OpenAI messages format (remud's .openai.jsonl)
        value = turn.get("value", turn.get("content")) if isinstance(turn, dict) else None
        if isinstance(value, list):
            value = _parts_text(value, urls)
        if not isinstance(value, str):
            raise ValueError("a turn without a text value")
        role = str(turn.get("from", turn.get("role", "")))
        if role == "system":
            system = value.strip() or None
        elif role in _ROLE:
            turns.append((_ROLE[role], value))
        else:
            raise ValueError(f"unknown role {role!r}")
    if len(turns) < 2 or turns[-1][0] != "assistant" or turns[-2][0] != "user":
        raise ValueError("does not end with a human question and a gpt answer")
    tag = ANSWER_RE.search(turns[-1][1])
    if tag is None:
        data.not_mcq.append(rid)
        return None
    key = normalise_choice(tag.group(1))
    if key is None or key not in letters:
        data.bad_keys.append({"id": rid, "key": tag.group(1).strip()[:80]})
        return None
    images = _images(record.get("images") or urls, base)
    asked = turns[:-1]
    language = record.get("language") or language_of(asked[-1][1])
    return EvalItem(
        id=rid,
        kind=str(record.get("kind") or "unknown"),
        language=str(language),
        region=str(record.get("region") or "other"),
        key=key,
        system=system,
        turns=_messages(asked, images),
    )


def record_ids(records: list[Any]) -> list[str]:
    """Each record's id, made unique: a repeated id gets "#<position>" appended."""
    ids: list[str] = []
    seen: set[str] = set()
    for index, record in enumerate(records):
        rid = record_id(record, index)
        if rid in seen:
            rid = f"{rid}#{index}"
        seen.add(rid)
        ids.append(rid)
    return ids


def record_id(record: Any, index: int) -> str:
    """A record's id: its "id" field, else its position and a hash of its content."""
    if isinstance(record, dict) and isinstance(record.get("id"), str | int) and str(record["id"]).strip():
        return str(record["id"]).strip()
    blob = json.dumps(record, ensure_ascii=False, sort_keys=True, default=str)
    return f"item-{index:05d}-{hashlib.sha1(blob.encode()).hexdigest()[:8]}"


def _parts_text(parts: list[Any], urls: list[str]) -> str | None:
    """The text of OpenAI content parts, an `<image>` token where each image part stood (its URL kept)."""
    pieces = []
    for part in parts:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            pieces.append(part["text"])
        elif kind == "image_url" and isinstance(part.get("image_url"), dict):
            urls.append(str(part["image_url"].get("url", "")))
            pieces.append(IMAGE_TOKEN)
        else:
            return None
    return "".join(pieces)


def _images(names: Any, base: Path) -> list[Path]:
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        raise ValueError("images must be a list of paths")
    paths = []
    for name in names:
        if name.startswith(("data:", "http://", "https://")):
            # an uploadable .openai.jsonl inlines or hosts its images; the same items with paths are in test.json
            raise ValueError(
                f"image given as a URL ({name[:30]}...): eval reads test.json or files whose images are paths"
            )
        path = Path(name) if Path(name).is_absolute() else base / name
        if not path.is_file():
            raise ValueError(f"missing image {name} (looked for {path})")
        paths.append(path)
    return paths


def _messages(turns: list[tuple[Role, str]], images: list[Path]) -> tuple[Message, ...]:
    """Turns with each `<image>` token replaced by its image; if the tokens do not match, all go first."""
    tokens = [text.count(IMAGE_TOKEN) if role == "user" else 0 for role, text in turns]
    placed = sum(tokens) == len(images)
    messages: list[Message] = []
    used = 0
    first_user = next(i for i, (role, _) in enumerate(turns) if role == "user")
    for i, (role, text) in enumerate(turns):
        if placed:
            mine = images[used : used + tokens[i]]
            used += tokens[i]
        else:
            mine = images if i == first_user else []
        clean = text.replace(IMAGE_TOKEN, "").strip() if role == "user" else text
        messages.append(Message(role, clean, tuple(mine)))
    return tuple(messages)
