"""Other trainers' formats, converted from the ShareGPT records the shards hold.

- ``openai``: one chat per line, ``{"messages": [{"role": ..., "content": ...}]}``; a user turn with images has
  ``content`` parts, an ``image_url`` part where each ``<image>`` token stood, its ``url`` the image path relative to
  the JSONL file (never base64, so the file stays small and diffable).
- ``hf``: a Hugging Face `datasets` folder (`Dataset.save_to_disk`), images embedded as `Image` features so the
  folder is self-contained; needs the optional ``datasets`` dependency.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from remud_gen.errors import UserError
from remud_gen.filter.rules import IMAGE_TOKEN
from remud_gen.io import atomic_open

_ROLE = {"system": "system", "human": "user", "gpt": "assistant"}
_METADATA = ("id", "kind", "language", "region")


def to_openai(record: dict[str, Any]) -> dict[str, Any]:
    """One ShareGPT record as an OpenAI-style chat."""
    images: list[str] = list(record["images"])
    used = 0
    messages = []
    for message in record["conversations"]:
        role, value = _ROLE[message["from"]], message["value"]
        if IMAGE_TOKEN not in value:
            messages.append({"role": role, "content": value})
            continue
        parts: list[dict[str, Any]] = []
        for k, piece in enumerate(value.split(IMAGE_TOKEN)):
            if k:
                if used >= len(images):
                    raise ValueError(f"record {record.get('id', '?')} has more {IMAGE_TOKEN} tokens than images")
                parts.append({"type": "image_url", "image_url": {"url": images[used]}})
                used += 1
            if piece:
                parts.append({"type": "text", "text": piece})
        messages.append({"role": role, "content": parts})
    return {"messages": messages}


def write_openai(records: Sequence[dict[str, Any]], path: Path) -> Path:
    """Write the records as chat JSONL at ``path`` (atomically) and return it."""
    with atomic_open(path) as fh:
        for record in records:
            fh.write(json.dumps(to_openai(record), ensure_ascii=False))
            fh.write("\n")
    return path


def require_datasets() -> ModuleType:
    """The `datasets` module, or a UserError saying how to install it."""
    try:
        import datasets
    except ImportError as exc:
        raise UserError("--format hf needs the Hugging Face datasets library: pip install 'remud-gen[hf]'") from exc
    return datasets


def write_hf(records: Sequence[dict[str, Any]], dataset_dir: Path, out: Path) -> Path:
    """Write the records as a `datasets` folder at ``out``, images embedded; return ``out``.

    Args:
        records: ShareGPT records whose image paths are relative to ``dataset_dir``.
        dataset_dir: the folder the image paths are relative to.
        out: the folder to (re)create; it is replaced only once the new one is complete.
    """
    ds = require_datasets()
    string = ds.Value("string")
    columns: dict[str, Any] = {
        "conversations": [{"from": string, "value": string}],
        "images": [ds.Image()],
    }
    present = [c for c in _METADATA if records and c in records[0]]
    columns.update({c: string for c in present})
    rows = {
        "conversations": [r["conversations"] for r in records],
        # save_to_disk reads these files into the arrow shards, so the folder does not depend on dataset/images
        "images": [[str((dataset_dir / p).resolve()) for p in r["images"]] for r in records],
        **{c: [r[c] for r in records] for c in present},
    }
    ds.disable_progress_bars()  # the CLI draws its own progress; tqdm bars would interleave with it
    table = ds.Dataset.from_dict(rows, features=ds.Features(columns))
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    table.save_to_disk(str(tmp))
    old = out.with_name(f".{out.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)
    return out
