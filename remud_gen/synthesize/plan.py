"""Which requests a synthesize run makes: units per kind, caps, the per-kind mix and the MCQ answer-letter plan."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from remud_gen.io import ReadReport, read_records_with_offsets
from remud_gen.records import Chunk, Figure, Language
from remud_gen.synthesize.answers import LETTERS
from remud_gen.synthesize.settings import SynthesizeSettings
from remud_gen.synthesize.tasks import Task
from remud_gen.synthesize.units import Unit, chunk_unit, figure_unit, has_source, panel_units


@dataclass(frozen=True)
class Job:
    """One request to make: a task on a unit in a language (with the letter its correct option will get)."""

    task: Task
    unit: Unit
    language: Language
    target_letter: str | None
    variant: int = 0  # the n-th item asked of this unit (synthesize.items_per_unit)

    @property
    def item(self) -> str:
        suffix = f":v{self.variant}" if self.variant else ""
        return f"{self.task.kind}:{self.unit.unit_id}:{self.language}{suffix}"


def load_units(extract_dir: Path, settings: SynthesizeSettings, report: ReadReport) -> tuple[list[Unit], list[Unit]]:
    """Chunk units and figure units usable as sources."""
    chunks = [
        chunk_unit(c, offset)
        for offset, c in read_records_with_offsets(extract_dir / "chunks.jsonl", Chunk, report)
        if has_source(c, settings.min_chunk_chars)
    ]
    figures = [
        figure_unit(f, settings.attach_page_image, offset)
        for offset, f in read_records_with_offsets(extract_dir / "figures.jsonl", Figure, report)
        if (f.is_ultrasound or not settings.ultrasound_only) and has_source(f, settings.min_chunk_chars)
    ]
    return chunks, figures


def plan_jobs(tasks: list[Task], chunks: list[Unit], figures: list[Unit], settings: SynthesizeSettings) -> list[Job]:
    """The full, deterministic list of jobs for this run."""
    by_unit = {"chunk": chunks, "figure": figures, "panels": panel_units(figures) if figures else []}
    caps = _caps(tasks, by_unit, settings)
    jobs: list[Job] = []
    for task in tasks:
        units = sorted(by_unit[task.unit], key=lambda u: u.order(task.kind, settings.seed))
        chosen = units[: caps[task.kind]]
        i = 0
        for unit in chosen:
            language: Language = settings.language if settings.language in ("zh", "en") else unit.language
            for variant in range(settings.items_per_unit):
                letter = LETTERS[(i + settings.seed) % len(LETTERS)] if task.mcq and settings.shuffle_options else None
                jobs.append(Job(task=task, unit=unit, language=language, target_letter=letter, variant=variant))
                i += 1
    if settings.max_items is not None and not settings.mix:
        jobs = jobs[: settings.max_items]
    return jobs


def _caps(tasks: list[Task], by_unit: dict[str, list[Unit]], settings: SynthesizeSettings) -> dict[str, int]:
    caps = {}
    for task in tasks:
        available = len(by_unit[task.unit])
        cap = available
        if task.kind in settings.max_per_kind:
            cap = min(cap, settings.max_per_kind[task.kind])
        if settings.mix and settings.max_items is not None:
            share = settings.mix.get(task.kind, 0.0) / (sum(settings.mix.values()) or 1.0)
            cap = min(cap, round(settings.max_items * share / settings.items_per_unit))
        caps[task.kind] = cap
    return caps
