"""Content hashes of files: one streaming reader for stage fingerprints, image keys and shard digests."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Protocol

_BLOCK = 1 << 20  # a block at a time: a 2 GB scanned book is hashed in constant memory


class _Hash(Protocol):
    def update(self, data: bytes, /) -> None: ...


def feed_file(h: _Hash, path: Path) -> None:
    """Stream the bytes of ``path`` into the hash ``h``."""
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(_BLOCK), b""):
            h.update(block)


def file_digest(path: Path) -> str:
    """The SHA-256 of a file's content, in hex."""
    h = hashlib.sha256()
    feed_file(h, path)
    return h.hexdigest()


def files_digest(paths: list[Path]) -> str:
    """One hash of the names and bytes of ``paths`` (a renamed file changes it too)."""
    h = hashlib.sha256()
    for path in paths:
        h.update(path.name.encode() + b"\0")
        feed_file(h, path)
    return h.hexdigest()[:32]
