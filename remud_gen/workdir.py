"""The work directory: one folder per stage, each reading only the previous stage's files, plus a manifest.

    WORK/extract/{documents,chunks,figures}.jsonl, WORK/extract/images/
    WORK/synthesize/{samples,failures}.jsonl, WORK/synthesize/journal.jsonl
    WORK/filter/{accepted,rejected}.jsonl, WORK/filter/journal.jsonl
    WORK/dataset/  (the final shards, their images, card, stats and report)
    WORK/manifest.json

A stage is skipped when the manifest says it finished with the same fingerprint (a hash of its inputs' content, its
resolved settings and the format version) and its outputs are still there.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from remud_gen import __version__
from remud_gen.errors import WorkDirError
from remud_gen.io import read_json, write_json

FORMAT_VERSION = 1
STAGES = ("extract", "synthesize", "filter")
_PACKAGES = ("remud-gen", "openai", "pymupdf", "pydantic", "rapidocr-onnxruntime", "datasketch", "pillow", "numpy")


class WorkDir:
    """A work directory and its manifest."""

    def __init__(self, root: Path) -> None:
        self.root = root
        if root.exists() and not root.is_dir():
            raise WorkDirError(f"{root} is a file, not a work directory; choose another -o folder")
        self.manifest_path = root / "manifest.json"
        self.manifest = self._load()

    def _load(self) -> dict[str, Any]:
        if not self.manifest_path.exists():
            return {"format_version": FORMAT_VERSION, "stages": {}}
        try:
            data = read_json(self.manifest_path)
        except (OSError, ValueError) as exc:
            raise WorkDirError(
                f"{self.manifest_path} is unreadable ({exc}); move it away or use a new -o folder"
            ) from exc
        found = data.get("format_version") if isinstance(data, dict) else None
        if found != FORMAT_VERSION:
            raise WorkDirError(
                f"{self.root} was written by an incompatible remud-gen (work format {found}, this version reads "
                f"{FORMAT_VERSION}); use a new -o folder or re-run with the version that wrote it"
            )
        data.setdefault("stages", {})
        return data

    def stage_dir(self, stage: str) -> Path:
        """WORK/<stage>, created if needed.

        Raises:
            WorkDirError: the folder cannot be created or written (a read-only place, a file where a folder should be).
        """
        path = self.root / stage
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkDirError(
                f"cannot write the work directory {self.root} ({exc.strerror or exc}); choose a folder you can write "
                "with -o"
            ) from exc
        _claim(path)
        return path

    def require(self, *paths: Path, hint: str) -> None:
        """Fail with one line when a previous stage's output is missing."""
        for path in paths:
            if not path.exists():
                raise WorkDirError(f"{path} is missing; {hint}")

    def is_done(self, stage: str, fingerprint: str, outputs: list[Path], retry_failures: bool = False) -> bool:
        """Whether ``stage`` finished with these inputs and settings and its outputs are still there.

        With ``retry_failures`` a run that recorded failed items is not done: the next run tries those items again
        (what a stage already paid for comes back from its journal, so only the failed requests are sent).
        """
        entry = self.manifest["stages"].get(stage, {})
        return (
            entry.get("status") == "done"
            and entry.get("fingerprint") == fingerprint
            and all(p.exists() for p in outputs)
            and not (retry_failures and entry.get("counts", {}).get("failures"))
        )

    def record(self, stage: str, **entry: Any) -> None:
        """Write a stage's manifest entry (resolved settings without secrets, versions, counts, timings, usage)."""
        entry.setdefault("finished_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        entry["versions"] = package_versions()
        self.manifest["stages"][stage] = entry
        self.manifest["remud_gen_version"] = __version__
        self.root.mkdir(parents=True, exist_ok=True)
        write_json(self.manifest_path, self.manifest)


_claimed: dict[Path, int] = {}  # stage folders this process writes: their lock files' descriptors, kept till exit


def _claim(folder: Path) -> None:
    """Hold ``folder`` for this process and delete the temporary files a killed run left in it.

    Writers put their output in `.<name>.*.tmp` files beside it until it is complete (`io.atomic_open`); after a
    `kill -9` those stay. Once this process holds the folder's lock no other run is writing there, so any such file
    is a leftover.

    Raises:
        WorkDirError: another remud-gen process is writing the same folder.
    """
    key = folder.resolve()
    if key not in _claimed:
        # beside the folder, not in it: WORK/dataset is handed on as it is
        fd = os.open(folder.parent / f".{folder.name}.lock", os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            raise WorkDirError(
                f"another remud-gen run is writing {folder}; wait for it to finish, or use another -o folder"
            ) from exc
        _claimed[key] = fd
    for leftover in folder.rglob(".*.tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()


def fingerprint(*parts: object) -> str:
    """A short stable hash of anything JSON-like."""
    import json

    blob = json.dumps([FORMAT_VERSION, *parts], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions
