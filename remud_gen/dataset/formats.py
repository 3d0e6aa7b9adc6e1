"""Other trainers' formats, converted from the ShareGPT records the shards hold.

- ``openai``: one chat per line, ``{"messages": [{"role": ..., "content": ...}], "id": ..., "kind": ...}``, the
  file OpenAI's fine-tuning upload takes: a user turn with images has ``content`` parts, an ``image_url`` part where
  each ``<image>`` token stood. The ``url`` is a data URL (the file is uploadable on its own) or, with
  ``image_base_url``, that prefix plus the image's path under WORK/dataset (upload images/ there first). Images
  that are not RGB/RGBA JPEG, PNG or WEBP (OpenAI's rule; ultrasound crops are often greyscale) are re-encoded
  as RGB PNG in the data URL. The metadata keys sit beside ``messages``; the upload reads only ``messages``.
- ``hf``: a Hugging Face `datasets` DatasetDict folder (`save_to_disk`), a "train" and, after split, a "test"
  split, images embedded as `Image` features so the folder is self-contained; needs the optional ``datasets``.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

from PIL import Image

from remud_gen.errors import UserError
from remud_gen.filter.rules import IMAGE_TOKEN
from remud_gen.io import atomic_open

_ROLE = {"system": "system", "human": "user", "gpt": "assistant"}
_METADATA = ("id", "kind", "language", "region")


_UPLOADABLE = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class ImageUrls:
    """The ``image_url.url`` of each image path of the records: a data URL, or a hosted copy's URL."""

    def __init__(self, dataset: Path, base_url: str | None = None) -> None:
        self.dataset, self.base_url = dataset, base_url
        self._cache: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        if self.base_url:
            return f"{self.base_url.rstrip('/')}/{quote(path)}"
        if path not in self._cache:  # one figure serves several items: encode it once
            self._cache[path] = data_url(self.dataset / path)
        return self._cache[path]


def data_url(path: Path) -> str:
    """The image at ``path`` as a base64 data URL OpenAI accepts (RGB/RGBA JPEG, PNG or WEBP)."""
    data = path.read_bytes()
    with Image.open(io.BytesIO(data)) as img:
        kind = _UPLOADABLE.get(img.format or "")
        if kind is None or img.mode not in ("RGB", "RGBA") or getattr(img, "is_animated", False):
            buf = io.BytesIO()
            img.convert("RGBA" if "A" in img.getbands() else "RGB").save(buf, format="PNG")
            data, kind = buf.getvalue(), "image/png"
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


def to_openai(record: dict[str, Any], url: Callable[[str], str] = str) -> dict[str, Any]:
    """One ShareGPT record as an OpenAI fine-tuning chat; ``url`` maps an image path to its ``image_url.url``."""
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
                parts.append({"type": "image_url", "image_url": {"url": url(images[used])}})
                used += 1
            if piece:
                parts.append({"type": "text", "text": piece})
        messages.append({"role": role, "content": parts})
    return {"messages": messages, **{k: record[k] for k in _METADATA if k in record}}


def write_openai(records: Sequence[dict[str, Any]], path: Path, url: ImageUrls) -> Path:
    """Write the records as chat JSONL at ``path`` (atomically) and return it."""
    with atomic_open(path) as fh:
        for record in records:
            fh.write(json.dumps(to_openai(record, url), ensure_ascii=False))
            fh.write("\n")
    return path


def require_datasets() -> ModuleType:
    """The `datasets` module, or a UserError saying how to install it."""
    try:
        import datasets
    except ImportError as exc:
        raise UserError("--format hf needs the Hugging Face datasets library: pip install 'remud-gen[hf]'") from exc
    return datasets


def write_hf(splits: Mapping[str, Sequence[dict[str, Any]]], dataset_dir: Path, out: Path) -> Path:
    """Write the records as a `datasets` DatasetDict folder at ``out``, images embedded; return ``out``.

    Args:
        splits: split name ("train", "test") -> ShareGPT records whose image paths are relative to ``dataset_dir``.
        dataset_dir: the folder the image paths are relative to.
        out: the folder to (re)create; it is replaced only once the new one is complete.
    """
    ds = require_datasets()
    string = ds.Value("string")
    columns: dict[str, Any] = {
        "conversations": [{"from": string, "value": string}],
        "images": [ds.Image()],
    }
    first = next((r for records in splits.values() for r in records), {})
    present = [c for c in _METADATA if c in first]
    columns.update({c: string for c in present})
    ds.disable_progress_bars()  # the CLI draws its own progress; tqdm bars would interleave with it
    tables = {}
    for name, records in splits.items():
        rows = {
            "conversations": [r["conversations"] for r in records],
            # save_to_disk reads these files into the arrow shards, so the folder does not depend on dataset/images
            "images": [[str((dataset_dir / p).resolve()) for p in r["images"]] for r in records],
            **{c: [r[c] for r in records] for c in present},
        }
        tables[name] = ds.Dataset.from_dict(rows, features=ds.Features(columns))
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    ds.DatasetDict(tables).save_to_disk(str(tmp))
    old = out.with_name(f".{out.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)
    return out
