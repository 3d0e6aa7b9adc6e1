"""Samples go to disk as they arrive and are rewritten in id order at the end: memory holds only an index.

A 100k-item run would otherwise keep every sample in memory until the stage ends. The unsorted file is a temporary
file beside the output, removed when the sink closes, so no half-written output is ever left in WORK.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from types import TracebackType

from remud_gen.io import atomic_open
from remud_gen.records import Sample


class SampleSink:
    """Append samples now, write them sorted by sample_id later."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".samples.", suffix=".unsorted.tmp", dir=folder)
        self._path = Path(name)
        self._fh = os.fdopen(fd, "w+b")
        self._index: list[tuple[str, int, int]] = []

    def __len__(self) -> int:
        return len(self._index)

    def add(self, sample: Sample) -> None:
        data = sample.model_dump_json().encode("utf-8")
        self._fh.seek(0, os.SEEK_END)
        self._index.append((sample.sample_id, self._fh.tell(), len(data)))
        self._fh.write(data)

    def write_sorted(self, path: Path) -> int:
        """Write every sample to ``path`` (atomically) in sample_id order; returns how many."""
        self._fh.flush()
        with atomic_open(path, "wb") as out:
            for _, offset, size in sorted(self._index):
                self._fh.seek(offset)
                out.write(self._fh.read(size) + b"\n")
        return len(self._index)

    def close(self) -> None:
        self._fh.close()
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()

    def __enter__(self) -> SampleSink:
        return self

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        self.close()
