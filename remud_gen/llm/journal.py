"""The append-only journal of answered requests: what makes a re-run or a crash never pay twice.

One JSON object a line, keyed by the request hash (`ChatRequest.key`). Lines are flushed as soon as an answer
arrives, so `kill -9` loses only the requests in flight; a torn last line is ignored on the next read. Only the
answer is stored (never the request, never an image), keeping the journal close to the size of the answers.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any


@dataclass(frozen=True)
class Answer:
    """One journaled model answer."""

    key: str
    item: str
    content: str
    reasoning: str | None
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int

    def to_line(self) -> dict[str, Any]:
        line: dict[str, Any] = {"k": self.key, "i": self.item, "c": self.content, "f": self.finish_reason}
        if self.reasoning:
            line["r"] = self.reasoning
        line["u"] = [self.prompt_tokens, self.completion_tokens, self.cached_tokens]
        line["t"] = round(time.time(), 3)  # when it was answered; benchmarks read the run's rate from these
        return line

    @classmethod
    def from_line(cls, line: dict[str, Any]) -> Answer:
        u = line.get("u") or [0, 0, 0]
        return cls(
            key=str(line["k"]),
            item=str(line.get("i", "")),
            content=str(line.get("c", "")),
            reasoning=line.get("r"),
            finish_reason=str(line.get("f", "stop")),
            prompt_tokens=int(u[0]),
            completion_tokens=int(u[1]),
            cached_tokens=int(u[2]),
        )


class Journal:
    """Answers by request key: an index of byte offsets in memory, the answers themselves on disk.

    Holding only offsets keeps a 100k-request run's memory flat; an answer is read back (one seek and one line) when
    a re-run asks for it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.answers: dict[str, int] = {}  # request key -> byte offset of its line
        self.meta: dict[str, Any] = {}
        self._fh: IO[bytes] | None = None
        self._reader: IO[bytes] | None = None
        if path.exists():
            with path.open("rb") as fh:
                offset = 0
                for raw in fh:
                    if raw.endswith(b"\n"):  # a torn tail (kill -9 mid-write) is ignored, then cut on open
                        self._index(raw, offset)
                    offset += len(raw)

    def _index(self, raw: bytes, offset: int) -> None:
        try:
            line = json.loads(raw)
        except ValueError:
            return
        if not isinstance(line, dict):
            return
        if "k" in line:
            self.answers[str(line["k"])] = offset
        elif isinstance(line.get("meta"), dict):
            self.meta.update(line["meta"])

    def __enter__(self) -> Journal:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_tail()
        self._fh = self.path.open("ab")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def get(self, key: str) -> Answer | None:
        offset = self.answers.get(key)
        if offset is None:
            return None
        if self._reader is None:
            self._reader = self.path.open("rb")
        self._reader.seek(offset)
        return Answer.from_line(json.loads(self._reader.readline()))

    def add(self, answer: Answer) -> None:
        """Record an answer; it is on disk (in the OS cache) when this returns."""
        self.answers[answer.key] = self._write(answer.to_line())

    def set_meta(self, **values: Any) -> None:
        """Record run-level facts (such as a batch id) that a resumed run must find."""
        self.meta.update(values)
        self._write({"meta": values})

    def _write(self, line: dict[str, Any]) -> int:
        if self._fh is None:
            raise RuntimeError("journal is not open")
        offset = self._fh.tell()
        self._fh.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n")
        self._fh.flush()
        return offset

    def _repair_tail(self) -> None:
        """Cut a torn last line (left by kill -9) so the next append starts on a fresh line."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with self.path.open("rb+") as fh:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) == b"\n":
                return
            fh.seek(0)
            cut = fh.read().rfind(b"\n") + 1
            fh.truncate(cut)
