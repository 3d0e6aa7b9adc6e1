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

import hashlib
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath

from remud_gen.dataset import formats
from remud_gen.dataset.dataset_files import IMAGES, write_record_files
from remud_gen.dataset.settings import OutputSettings
from remud_gen.dataset.sharegpt import to_sharegpt
from remud_gen.dataset.system_prompts import SystemPrompts
from remud_gen.dataset.system_prompts import read_system_prompts as read_prompt_table
from remud_gen.io import atomic_open
from remud_gen.records import Sample


@dataclass(frozen=True)
class ShardOutput:
    """What `write_shards` wrote."""

    shards: list[Path]
    dataset_info: Path
    images: dict[str, str] = field(default_factory=dict)  # WORK-relative source -> path relative to the shards
    skipped: dict[str, str] = field(default_factory=dict)  # sample_id -> why it is not in the shards
    extra: dict[str, Path] = field(default_factory=dict)  # format -> file or folder
    records: int = 0
    retired_test: bool = False  # an earlier dataset's test split was removed (its items are back in training)

    @property
    def dataset_names(self) -> list[str]:
        """The dataset_info.json entry names, for LLaMA-Factory's `dataset:` option (joined by commas)."""
        return [p.stem for p in self.shards]


def read_system_prompts(settings: OutputSettings, prompts_dir: Traversable) -> SystemPrompts:
    """The system prompt of each item kind and language, from the table ``settings.system_prompts`` names."""
    return read_prompt_table(prompts_dir, settings.system_prompts)


def write_shards(
    samples: Iterable[Sample],
    work: Path,
    settings: OutputSettings,
    system_prompts: SystemPrompts | Mapping[str, str],
    *,
    extra_images: Iterable[str] = (),
) -> ShardOutput:
    """Write the accepted samples as ShareGPT shards in WORK/dataset, with their images and dataset_info.json.

    New shards are complete on disk before any shard of an earlier run is removed; a crash leaves the earlier
    dataset or the new one, plus at worst some temporary files that the next run deletes.

    Args:
        samples: accepted samples, any order (written by sample_id).
        work: the work directory the samples' image paths are relative to.
        settings: shard size, name and extra formats.
        system_prompts: system prompt text per kind and language, or per language for every kind (a language
            without one gets no system turn).
        extra_images: more WORK-relative images to copy under images/ (those report.html shows); missing ones
            are ignored.

    Returns:
        The files written, the image map and the samples left out (their image is missing).
    """
    if "hf" in settings.formats:
        formats.require_datasets()  # fail before anything is written
    dataset = work / "dataset"
    (dataset / IMAGES).mkdir(parents=True, exist_ok=True)
    for tmp in dataset.glob(f".{settings.name}-*.tmp"):
        tmp.unlink()
    system = system_prompts if isinstance(system_prompts, SystemPrompts) else SystemPrompts.same(system_prompts)
    ordered = sorted(samples, key=lambda s: s.sample_id)
    names, skipped = _plan_images(ordered, work, extra_images)
    kept = [s for s in ordered if s.sample_id not in skipped]
    for source, name in names.items():
        _copy_image(work / source, dataset / IMAGES / name)
    records = [
        to_sharegpt(
            s, [f"{IMAGES}/{names[i]}" for i in s.images], system.text(s.kind, s.language), metadata=settings.metadata
        )
        for s in kept
    ]
    written = write_record_files(dataset, settings, records, [], keep_images=set(names.values()))
    images = {src: f"{IMAGES}/{name}" for src, name in names.items()}
    return ShardOutput(
        written.shards, written.dataset_info, images, skipped, written.extra, len(records), written.retired_test
    )


def _plan_images(ordered: list[Sample], work: Path, extra: Iterable[str]) -> tuple[dict[str, str], dict[str, str]]:
    """A file name under dataset/images for every usable image; samples whose image is unusable are skipped."""
    skipped: dict[str, str] = {}
    sources: set[str] = {i for i in extra if _inside(work, i)}
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
