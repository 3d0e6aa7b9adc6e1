"""Extract on a Ray cluster: one Ray task per document, with its CPUs and memory declared.

A worker may be on another machine, so it writes nothing the run needs: it extracts into a temporary work directory
of its own and returns the cache bytes and every file made under it (crops, a VLM journal) by WORK-relative path.
The driver writes the files, then the cache last and atomically, into the same work directory a local run writes:
a cache on disk always has its crops, so resume is the same as a local run's. A task whose worker dies is run again
by Ray (`extract.ray.max_retries`); a document is one task (not page ranges: running heads, repeated logos and
captions continued over a page are decided over the whole document).

Inputs travel as bytes (a document with its page images and caption sidecar, up to `extract.ray.send_max_mb`);
a larger one is read by the worker from the same path, which then has to be on a mount every node shares.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from remud_gen.errors import UserError
from remud_gen.extract.crops import IMAGES_DIR
from remud_gen.extract.executors import extract_one
from remud_gen.extract.heap import keep_flat
from remud_gen.extract.imagefile import IMAGE_SUFFIXES
from remud_gen.extract.ocr import limit_threads
from remud_gen.extract.settings import ExtractSettings
from remud_gen.extract.vlm.job import VlmJob
from remud_gen.extract.vlm.plan import VlmPlan
from remud_gen.io import write_bytes_atomic

# Fault injection for the retry test: a worker extracting the document named like this file's name exits abruptly
# (as an out-of-memory kill would) unless the file exists; it creates it first, so the retry goes through.
CRASH_ONCE_ENV = "REMUD_GEN_CRASH_ONCE"
_MB = 1 << 20

Outcome = tuple[tuple[str, str] | None, bytes | None, dict[str, bytes]]  # failure, cache bytes, files by WORK path


def import_ray() -> ModuleType:
    """The `ray` module, or a UserError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UserError(
            "extract.executor ray (--ray) needs Ray, which is not installed here: pip install 'remud-gen[ray]'"
        ) from None
    return ray


def run_on_ray(
    pending: list[Path],
    caches: dict[Path, Path],
    books: dict[Path, tuple[Path, ...]],
    root: Path,
    settings: ExtractSettings,
    workers: int,
    vlm: VlmPlan,
) -> Iterator[tuple[Path, tuple[str, str] | None]]:
    """Extract each pending file as a Ray task; yield (file, failure or None) as each lands in WORK.

    Joins `extract.ray.address` (or RAY_ADDRESS), or a Ray already started in this process, else starts one here
    with ``workers`` CPUs (and shuts it down at the end). At most two tasks per slot are in flight, so the driver
    holds a bounded number of inputs and results however long the library.
    """
    ray = import_ray()
    started = _connect(ray, settings.ray.address, workers)
    try:
        options = settings.ray
        slots = max(1, int(ray.cluster_resources().get("CPU", 1) // options.cpus_per_task))
        job = vlm.job(slots)
        task = ray.remote(_extract_remote).options(
            num_cpus=options.cpus_per_task,
            memory=options.memory_mb * _MB or None,
            max_retries=options.max_retries,
        )
        queue = list(pending)
        running: dict[Any, Path] = {}
        while queue or running:
            while queue and len(running) < 2 * slots:
                path = queue.pop(0)
                pages = books.get(path)
                payload = _payload(path, pages, settings)
                names = [str(p) for p in pages] if pages else None
                running[task.remote(str(path), names, payload, settings, job)] = path
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                path = running.pop(ref)
                yield path, _land(ray, ref, path, caches[path], root)
    finally:
        if started:
            ray.shutdown()


def _connect(ray: ModuleType, address: str, workers: int) -> bool:
    """Join the cluster or start a local instance; True when this call started one (and must shut it down)."""
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS", "")
    try:
        if address:
            ray.init(address=address, logging_level=logging.WARNING)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise UserError(f"cannot start or reach {where}: {exc}; check extract.ray.address / RAY_ADDRESS") from None
    return True


def _payload(path: Path, pages: tuple[Path, ...] | None, settings: ExtractSettings) -> dict[str, bytes] | None:
    """The document's files by name (its page images, an image's caption sidecar), or None when they are over
    `send_max_mb`, unreadable here, or not one folder's: the worker then reads them from their paths."""
    files = list(pages) if pages else [path]
    if path.suffix.lower() in IMAGE_SUFFIXES:
        files += [path.parent / n for n in settings.sidecar_names if (path.parent / n).is_file()]
    if len({f.name for f in files}) < len(files):
        return None
    try:
        if sum(f.stat().st_size for f in files) > settings.ray.send_max_mb * _MB:
            return None
        return {f.name: f.read_bytes() for f in files}
    except OSError:
        return None  # the worker's read gives the usual one-line failure


def _land(ray: ModuleType, ref: Any, path: Path, cache: Path, root: Path) -> tuple[str, str] | None:
    """Write a finished task's files and then its cache under WORK; its failure, if it had one."""
    try:
        failure, data, files = ray.get(ref)
    except ray.exceptions.RayError as exc:  # retries used up: the worker or its node kept dying
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return f"{path.name}: extraction crashed on Ray ({type(exc).__name__}: {first[:200]})", "WorkerCrash"
    for rel, content in files.items():
        dest = root / rel
        # crops are named by content: one already there is the same; anything else (a VLM journal) is replaced
        if not (Path(rel).parent == IMAGES_DIR and dest.exists()):
            write_bytes_atomic(dest, content, durable=False)
    if data is not None:
        write_bytes_atomic(cache, data)
    return failure


_worker_ready = False


def _extract_remote(
    path_name: str, page_names: list[str] | None, payload: dict[str, bytes] | None, settings: ExtractSettings, job: Any
) -> Outcome:
    """The Ray task: extract one document in a temporary work directory and return what it made."""
    global _worker_ready
    if not _worker_ready:  # a Ray worker process runs many tasks: its OCR engines are loaded once
        limit_threads(max(1, int(settings.ray.cpus_per_task)))
        keep_flat()
        _worker_ready = True
    vlm: VlmJob | None = job
    path = Path(path_name)
    pages = tuple(Path(p) for p in page_names) if page_names else None
    with tempfile.TemporaryDirectory(prefix="remud-ray-") as tmp:
        folder = Path(tmp)
        if payload is not None:
            inbox = folder / "in"
            inbox.mkdir()
            for name, data in payload.items():
                (inbox / name).write_bytes(data)
            path = inbox / path.name
            pages = tuple(inbox / p.name for p in pages) if pages else None
        _crash_once(path.name)
        work, cache = folder / "work", folder / "cache.jsonl"
        failure = extract_one(path, cache, work, settings, vlm, pages)
        files = {f.relative_to(work).as_posix(): f.read_bytes() for f in sorted(work.rglob("*")) if f.is_file()}
        return failure, cache.read_bytes() if cache.exists() else None, files


def _crash_once(name: str) -> None:
    marker = os.environ.get(CRASH_ONCE_ENV)
    if marker and Path(marker).name == name and not Path(marker).exists():
        Path(marker).touch()
        os._exit(1)
