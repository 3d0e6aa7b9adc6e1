"""What synthesize asks: one chat request per planned job, its source text and images filled into the task prompt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from remud_gen.llm.request import ChatRequest, Message
from remud_gen.records import Failure
from remud_gen.synthesize.answers import answer_parser
from remud_gen.synthesize.plan import Job
from remud_gen.synthesize.settings import SynthesizeSettings
from remud_gen.synthesize.units import absolute, open_records, source_text

STAGE = "synthesize"


def image_tasks(jobs: list[Job]) -> str:
    """The tasks among ``jobs`` that send images, named for a message ("" when none do)."""
    kinds = sorted({job.task.kind for job in jobs if job.unit.images})
    return f"the {', '.join(kinds)} task(s) (synthesize.tasks)" if kinds else ""


def with_images(jobs: list[Job], root: Path) -> tuple[list[Job], list[Failure]]:
    """Jobs whose images exist, and a failure for each job whose image is gone (never a crash mid-run)."""
    ready, missing = [], []
    for job in jobs:
        gone = next((p for p in job.unit.images if not (root / p).is_file()), None)
        if gone is None:
            ready.append(job)
        else:
            item = job.item
            message = f"image {gone} is missing from WORK; re-run extract to recreate it"
            missing.append(Failure(item=item, stage=STAGE, error="missing_image", message=message))
    return ready, missing


def requests(jobs: list[Job], root: Path, settings: SynthesizeSettings) -> Iterator[ChatRequest]:
    """The request of each job, its source read from WORK/extract as it is needed (lazily: memory stays flat)."""
    with open_records(root / "extract") as record:
        for job in jobs:
            phrases = job.task.phrases[job.language]
            outside = phrases["outside_allowed" if settings.outside_knowledge else "outside_forbidden"]
            system, user = job.task.prompt(job.language).render(
                source=source_text(record(job.unit), phrases["labels"], settings.max_source_chars),
                n_turns=str(settings.turns),
                n_images=str(len(job.unit.images)),
                outside_rule=outside,
                language_name=phrases["language_name"][job.language],
                variant_rule=_variant_rule(phrases, job, settings),
            )
            yield ChatRequest(
                item=job.item,
                messages=[
                    Message("system", system),
                    Message("user", user, absolute(root, job.unit.images)),
                ],
                schema=job.task.schema,
                schema_name=job.task.kind.replace("-", "_"),
                prompt_version=job.task.version,
                parse=answer_parser(job.task, settings.turns),
                meta={"job": job},
            )


def _variant_rule(phrases: dict[str, Any], job: Job, settings: SynthesizeSettings) -> str:
    """With several items per unit, each request says which one it is, so they ask about different things."""
    if settings.items_per_unit == 1:
        return ""
    return str(phrases["variant_rule"]).format(n=job.variant + 1, total=settings.items_per_unit)
