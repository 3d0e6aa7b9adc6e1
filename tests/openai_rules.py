"""OpenAI's published rules for a (vision) fine-tuning file, written from the docs, independently of remud_gen.

Sources: the supervised and vision fine-tuning guides (developers.openai.com/api/docs/guides/vision-fine-tuning)
and the cookbook's format checks: a JSONL file, each line an object with a "messages" list; each message has a
role (system, user, assistant) and content; at least one assistant message; images only in user messages, given
as HTTP(S) URLs or base64 data URLs; JPEG, PNG or WEBP in RGB or RGBA mode, at most 10 MB each, at most 10 per
example (the Azure page allows 64; the stricter number is used).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
from pathlib import Path
from typing import Any

from PIL import Image

ROLES = {"system", "user", "assistant"}
MESSAGE_KEYS = {"role", "content", "name", "weight"}
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_IMAGES = 10
DATA_URL = re.compile(r"^data:(image/[a-z]+);base64,(.*)$", re.S)


def check_file(path: Path) -> list[str]:
    """Every problem of the file, as "line N: what"; empty when it would be accepted."""
    problems: list[str] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            example = json.loads(line)
        except ValueError:
            problems.append(f"line {n}: not JSON")
            continue
        problems += [f"line {n}: {p}" for p in check_example(example)]
    return problems


def check_example(example: Any) -> list[str]:
    if not isinstance(example, dict) or not isinstance(example.get("messages"), list) or not example["messages"]:
        return ["no messages list"]
    problems, images = [], 0
    for m in example["messages"]:
        if not isinstance(m, dict) or set(m) - MESSAGE_KEYS or "role" not in m or "content" not in m:
            problems.append(f"bad message keys {sorted(m) if isinstance(m, dict) else m!r}")
            continue
        if m["role"] not in ROLES:
            problems.append(f"unknown role {m['role']!r}")
        content = m["content"]
        if isinstance(content, str):
            if not content:
                problems.append("empty content")
            continue
        if not isinstance(content, list) or not content:
            problems.append("content is neither text nor a list of parts")
            continue
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                continue
            if kind != "image_url":
                problems.append(f"bad content part {part!r}"[:80])
                continue
            if m["role"] != "user":
                problems.append(f"image in a {m['role']} message")
            images += 1
            problems += check_image_url(str(part.get("image_url", {}).get("url", "")))
    if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in example["messages"]):
        problems.append("no assistant message")
    if images > MAX_IMAGES:
        problems.append(f"{images} images (at most {MAX_IMAGES})")
    return problems


def check_image_url(url: str) -> list[str]:
    if url.startswith(("https://", "http://")):
        return []
    match = DATA_URL.match(url)
    if not match:
        return [f"image url is neither http(s) nor a data URL: {url[:40]!r}"]
    try:
        data = base64.b64decode(match.group(2), validate=True)
    except (binascii.Error, ValueError):
        return ["data URL is not base64"]
    if len(data) > MAX_IMAGE_BYTES:
        return [f"image of {len(data)} bytes"]
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, mode, animated = img.format or "", img.mode, getattr(img, "is_animated", False)
    except OSError:
        return ["data URL is not an image"]
    problems = []
    if FORMATS.get(fmt) != match.group(1):
        problems.append(f"data URL says {match.group(1)} but holds {fmt or 'unknown'}")
    if mode not in ("RGB", "RGBA"):
        problems.append(f"image mode {mode} (RGB or RGBA only)")
    if animated:
        problems.append("animated image")
    return problems
