"""The dataset folder LLaMA-Factory loads: JSON shards, their images and `dataset_info.json`.

    WORK/dataset/remud-00000-of-00002.json   JSON arrays of ShareGPT records, ordered by sample_id
    WORK/dataset/images/<name>               every image a record lists, as "images/<name>"
    WORK/dataset/dataset_info.json           one entry per shard

Image paths are relative to the shard, which is also LLaMA-Factory's `dataset_dir` (its default `media_dir`), so
`dataset_dir: WORK/dataset` finds them. LLaMA-Factory's `file_name` is one file or one folder (no list, no glob), and a
folder of shards would put the images outside `media_dir`: hence one entry per shard, named after it, listed together
in the trainer's `dataset:` option (`dataset_names`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from remud_gen.errors import ConfigError
from remud_gen.filter import formats
from remud_gen.filter.sharegpt import to_sharegpt
from remud_gen.io import atomic_open, read_json, write_json
from remud_gen.records import Language, Sample

IMAGES = "images"
_SHARD_TAGS = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt"}


def _default_system_prompts() -> dict[Language, str]:
    return {"zh": "system_zh.txt", "en": "system_en.txt"}


class OutputSettings(BaseModel):
    """What the dataset folder holds and how it is cut."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        default="remud",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="dataset name: shard file prefix and card title",
    )
    shard_size: int = Field(default=10000, ge=1, description="records per JSON shard")
    formats: list[Literal["openai", "hf"]] = Field(
        default_factory=list, description="extra formats beside the ShareGPT shards: openai (chat JSONL), hf"
    )
    system_prompts: dict[Language, str] = Field(
        default_factory=_default_system_prompts,
        description="system prompt file per language, in the prompt folder (empty name: no system prompt)",
    )
    metadata: bool = Field(default=True, description='also write "id", "kind", "language", "region" in each record')
    report_max_items: int | None = Field(
        default=20000, ge=1, description="items shown in report.html, a fixed sample when there are more (None: all)"
    )
    indent: int | None = Field(
        default=2, ge=0, le=8, description="JSON indent of the shards (None: one line per shard)"
    )


@dataclass(frozen=True)
class ShardOutput:
    """What `write_shards` wrote."""

    shards: list[Path]
    dataset_info: Path
    images: dict[str, str] = field(default_factory=dict)  # WORK-relative source -> path relative to the shards
    skipped: dict[str, str] = field(default_factory=dict)  # sample_id -> why it is not in the shards
    extra: dict[str, Path] = field(default_factory=dict)  # format -> file or folder
    records: int = 0

    @property
    def dataset_names(self) -> list[str]:
        """The dataset_info.json entry names, for LLaMA-Factory's `dataset:` option (joined by commas)."""
        return [p.stem for p in self.shards]


def read_system_prompts(settings: OutputSettings, prompts_dir: Traversable) -> dict[str, str]:
    """Read the system prompt file of each language from ``prompts_dir``."""
    prompts: dict[str, str] = {}
    for lang, name in settings.system_prompts.items():
        if not name:
            continue
        try:
            prompts[lang] = (prompts_dir / name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"filter.output.system_prompts.{lang}: cannot read {prompts_dir / name} ({exc.strerror or exc})"
            ) from exc
    return prompts


def write_shards(
    samples: Iterable[Sample], work: Path, settings: OutputSettings, system_prompts: Mapping[str, str]
) -> ShardOutput:
    """Write the accepted samples as ShareGPT shards in WORK/dataset, with their images and dataset_info.json.

    New shards are complete on disk before any shard of an earlier run is removed; a crash leaves the earlier
    dataset or the new one, plus at worst some temporary files that the next run deletes.

    Args:
        samples: accepted samples, any order (written by sample_id).
        work: the work directory the samples' image paths are relative to.
        settings: shard size, name and extra formats.
        system_prompts: system prompt text per language (a language without one gets no system turn).

    Returns:
        The files written, the image map and the samples left out (their image is missing).
    """
    if "hf" in settings.formats:
        formats.require_datasets()  # fail before anything is written
    dataset = work / "dataset"
    (dataset / IMAGES).mkdir(parents=True, exist_ok=True)
    for tmp in dataset.glob(f".{settings.name}-*.tmp"):
        tmp.unlink()
    ordered = sorted(samples, key=lambda s: s.sample_id)
    names, skipped = _plan_images(ordered, work)
    kept = [s for s in ordered if s.sample_id not in skipped]
    for source, name in names.items():
        _copy_image(work / source, dataset / IMAGES / name)
    records = [
        to_sharegpt(
            s, [f"{IMAGES}/{names[i]}" for i in s.images], system_prompts.get(s.language), metadata=settings.metadata
        )
        for s in kept
    ]
    chunks = [records[i : i + settings.shard_size] for i in range(0, len(records), settings.shard_size)]
    shards = [dataset / f"{settings.name}-{i:05d}-of-{len(chunks):05d}.json" for i in range(len(chunks))]
    with contextlib.ExitStack() as stack:
        # every shard is written to its temporary file before the first one replaces anything
        for path, chunk in zip(shards, chunks, strict=True):
            fh = stack.enter_context(atomic_open(path))
            json.dump(chunk, fh, ensure_ascii=False, indent=settings.indent)
            fh.write("\n")
    own = re.compile(rf"^{re.escape(settings.name)}-\d{{5}}-of-\d{{5}}$")  # a test split's entry is the split's
    info = write_dataset_info(dataset, own, {p.stem: p.name for p in shards})
    extra: dict[str, Path] = {}
    if "openai" in settings.formats:
        extra["openai"] = formats.write_openai(records, dataset / f"{settings.name}.openai.jsonl")
    if "hf" in settings.formats:
        extra["hf"] = formats.write_hf(records, dataset, dataset / f"{settings.name}-hf")
    _remove_stale(dataset, settings, shards, set(names.values()))
    images = {src: f"{IMAGES}/{name}" for src, name in names.items()}
    return ShardOutput(shards, info, images, skipped, extra, len(records))


def _plan_images(ordered: list[Sample], work: Path) -> tuple[dict[str, str], dict[str, str]]:
    """A file name under dataset/images for every usable image; samples whose image is unusable are skipped."""
    skipped: dict[str, str] = {}
    sources: set[str] = set()
    for s in ordered:
        bad = next((i for i in s.images if not _inside(work, i)), None)
        if bad is not None:
            skipped[s.sample_id] = f"missing_image: {bad}"
        else:
            sources.update(s.images)
    by_name: dict[str, list[str]] = {}
    for src in sorted(sources):
        by_name.setdefault(PurePosixPath(src).name, []).append(src)
    names = {}
    for name, group in by_name.items():
        for src in group:
            # extract names crops by content, so clashes are rare; a clash gets a suffix from the source path
            suffix = PurePosixPath(name).suffix
            digest = hashlib.sha1(src.encode()).hexdigest()[:8]
            names[src] = name if len(group) == 1 else f"{PurePosixPath(name).stem}-{digest}{suffix}"
    return names, skipped


def _inside(work: Path, image: str) -> bool:
    path = PurePosixPath(image)
    if not image or path.is_absolute() or ".." in path.parts or "\\" in image:
        return False
    return (work / path).is_file()


def _copy_image(src: Path, dest: Path) -> None:
    source = src.stat()
    if dest.is_file():
        copy = dest.stat()
        # rsync's quick check: a copy carries its source's size and mtime, so a re-run copies nothing
        if (copy.st_size, copy.st_mtime_ns) == (source.st_size, source.st_mtime_ns):
            return
    with atomic_open(dest, "wb") as fh, src.open("rb") as fin:
        shutil.copyfileobj(fin, fh)
    os.utime(dest, ns=(source.st_atime_ns, source.st_mtime_ns))


def dataset_info_entry(shard: str) -> dict[str, Any]:
    """The LLaMA-Factory dataset_info.json entry of one shard file."""
    return {
        "file_name": shard,
        "formatting": "sharegpt",
        "columns": {"messages": "conversations", "images": "images"},
        "tags": {**_SHARD_TAGS, "system_tag": "system"},
    }


def write_dataset_info(dataset: Path, own: re.Pattern[str], entries: Mapping[str, str]) -> Path:
    """Replace our entries in `dataset_info.json` (those whose name `own` matches) with ``entries`` (name -> file).

    Entries someone else added (another dataset, a hand-written one) are kept; a broken file of ours is rewritten.
    """
    path = dataset / "dataset_info.json"
    try:
        old = read_json(path) if path.exists() else {}
    except (OSError, ValueError):
        old = {}
    info = {k: v for k, v in (old.items() if isinstance(old, dict) else []) if not own.match(k)}
    info.update({name: dataset_info_entry(file) for name, file in entries.items()})
    write_json(path, info)
    return path


def _remove_stale(dataset: Path, settings: OutputSettings, shards: list[Path], images: set[str]) -> None:
    keep = {p.name for p in shards}
    own = re.compile(rf"^{re.escape(settings.name)}-\d{{5}}-of-\d{{5}}\.json$")
    for path in dataset.iterdir():
        if path.is_file() and own.match(path.name) and path.name not in keep:
            path.unlink()
    for path in (dataset / IMAGES).iterdir():
        if path.name in images:
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    if "openai" not in settings.formats:
        (dataset / f"{settings.name}.openai.jsonl").unlink(missing_ok=True)
    if "hf" not in settings.formats:
        shutil.rmtree(dataset / f"{settings.name}-hf", ignore_errors=True)
