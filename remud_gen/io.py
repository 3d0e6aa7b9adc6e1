"""Reading and writing records: the only place JSONL and JSON files are touched.

Writers are atomic: records go to a temporary file beside the target, which replaces the target only when the writer
closes without error, so a crash never leaves half a file where a finished one is expected. Readers skip a torn last
line (a process killed mid-append) and count bad lines instead of failing the whole file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

R = TypeVar("R", bound=BaseModel)
_UMASK = os.umask(0)
os.umask(_UMASK)


def dumps(obj: Any) -> str:
    """Compact, key-stable JSON that keeps non-ASCII text readable (Chinese stays Chinese)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=False)


@contextlib.contextmanager
def atomic_open(path: Path, mode: str = "w", *, durable: bool = True) -> Iterator[IO[Any]]:
    """Open a temporary file that replaces ``path`` only if the block finishes without an exception.

    ``durable`` also fsyncs before the rename (survives power loss, not only a crash); content-addressed files that
    can be recreated skip it, since one fsync per figure crop was a tenth of extract's time.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    binary = "b" in mode
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; outputs should be as readable as any other
        with os.fdopen(fd, mode, encoding=None if binary else "utf-8") as fh:
            yield fh
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_bytes_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb", durable=durable) as fh:
        fh.write(data)


def write_json(path: Path, obj: Any) -> None:
    """Write one JSON document atomically, pretty-printed for people."""
    with atomic_open(path) as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=2)
        fh.write("\n")


def read_json(path: Path) -> Any:
    """Read one JSON document."""
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def write_records(path: Path, records: Iterable[BaseModel]) -> int:
    """Write records as JSONL atomically and return how many were written."""
    n = 0
    with atomic_open(path) as fh:
        for rec in records:
            fh.write(rec.model_dump_json(exclude_none=False))
            fh.write("\n")
            n += 1
    return n


@dataclass
class ReadReport:
    """What a reader skipped, so the caller can count it instead of failing."""

    bad_lines: list[tuple[int, str]] = field(default_factory=list)


def read_records(path: Path, model: type[R], report: ReadReport | None = None) -> Iterator[R]:
    """Yield records of ``model`` from a JSONL file, skipping (and reporting) lines that do not parse."""
    for _, record in read_records_with_offsets(path, model, report):
        yield record


def read_records_with_offsets(path: Path, model: type[R], report: ReadReport | None = None) -> Iterator[tuple[int, R]]:
    """Each record with its byte offset in the file, for reading it again with `RecordReader`.

    The file is read as bytes: a line that is not UTF-8 is reported like any other line that does not parse.
    """
    offset = 0
    with path.open("rb") as fh:
        for lineno, line in enumerate(fh, 1):
            start, offset = offset, offset + len(line)
            if not line.strip():
                continue
            try:
                yield start, model.model_validate_json(line)
            except ValidationError as exc:
                if report is not None:
                    report.bad_lines.append((lineno, _first_error(exc)))


class RecordReader(Generic[R]):
    """One record at a time from a JSONL file, by the byte offset `read_records_with_offsets` gave it.

    A stage that plans over many records keeps only their offsets and reads each one again when it needs it; the
    file stays open while the reader is used as a context manager.
    """

    def __init__(self, path: Path, model: type[R]) -> None:
        self._path, self._model = path, model
        self._fh: IO[bytes] | None = None

    def __enter__(self) -> RecordReader[R]:
        self._fh = self._path.open("rb")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def read(self, offset: int) -> R:
        """The record at ``offset``."""
        assert self._fh is not None, "use RecordReader in a with block"
        self._fh.seek(offset)
        return self._model.model_validate_json(self._fh.readline())


def iter_json_lines(path: Path) -> Iterator[dict[str, Any]]:
    """Yield JSON objects from an append-only file, tolerating a torn last line (kill -9 mid-write)."""
    if not path.exists():
        return
    with path.open("rb") as fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                return  # torn tail: the writer died before finishing this line
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            if isinstance(obj, dict):
                yield obj


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ()))
    return f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg", "invalid"))
