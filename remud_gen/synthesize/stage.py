"""The synthesize stage: every planned job becomes one request, every answer one sample or one failure."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from remud_gen.errors import ConfigError
from remud_gen.io import ReadReport, write_records
from remud_gen.llm.capabilities import ENDPOINTS_FILE
from remud_gen.llm.client import Client, Result
from remud_gen.llm.dispatch import price_without_sending, resolve_all
from remud_gen.llm.journal import Journal
from remud_gen.llm.probe import ensure_now, use_cached
from remud_gen.llm.request import ChatRequest, Message
from remud_gen.llm.runner import Budget, RunStats
from remud_gen.llm.settings import EndpointSettings
from remud_gen.prompts import ChatPrompt, prompts_dir, read_text
from remud_gen.records import Failure, Generator, Usage
from remud_gen.report import StageReport
from remud_gen.synthesize.answers import answer_parser, to_sample
from remud_gen.synthesize.plan import Job, load_units, plan_jobs
from remud_gen.synthesize.settings import SynthesizeSettings
from remud_gen.synthesize.sink import SampleSink
from remud_gen.synthesize.tasks import load_task
from remud_gen.synthesize.translate import Original, translation_requests
from remud_gen.synthesize.units import absolute, open_records, source_text
from remud_gen.workdir import WorkDir, file_digest, fingerprint

STAGE = "synthesize"


def run(
    work: WorkDir,
    settings: SynthesizeSettings,
    endpoint: EndpointSettings,
    api_key: str,
    *,
    budget: Budget | None = None,
    dry_run: bool = False,
    batch: bool = False,
    progress: Callable[[str, int], Any] | None = None,
) -> StageReport:
    """Generate samples from WORK/extract into WORK/synthesize.

    Args:
        work: the work directory (extract must have run).
        settings: synthesize settings.
        endpoint: the model endpoint.
        api_key: the key for the endpoint (from the environment; never stored).
        budget: optional --limit / --max-cost.
        dry_run: count and price the requests that would be sent, and send nothing.
        batch: send through the OpenAI Batch API (cheaper, slower; resumable by batch id).
        progress: a context-manager factory `(description, total) -> callback(RunStats)` for a live bar.

    Example:
        >>> run(WorkDir(Path("out")), SynthesizeSettings(), EndpointSettings(base_url="http://127.0.0.1:8011/v1"), "x")
    """
    extract_dir = work.root / "extract"
    hint = "run `remud-gen extract INPUT -o WORK` first"
    work.require(extract_dir / "chunks.jsonl", extract_dir / "figures.jsonl", hint=hint)
    folder = prompts_dir(settings.prompts_dir)
    tasks = [load_task(kind, folder) for kind in settings.tasks]
    if not tasks:
        raise ConfigError("synthesize.tasks is empty; name at least one task kind (qa, qa-reasoning, vqa, ...)")
    bad = ReadReport()
    chunks, figures = load_units(extract_dir, settings, bad)
    jobs = plan_jobs(tasks, chunks, figures, settings)
    jobs, missing = _with_images(jobs, work.root)
    out_dir = work.stage_dir(STAGE)
    samples_path, failures_path = out_dir / "samples.jsonl", out_dir / "failures.jsonl"
    sampling = endpoint.model_dump(include={"model", "temperature", "top_p", "max_tokens", "seed", "structured_output"})
    fp = fingerprint(
        file_digest(extract_dir / "chunks.jsonl"),
        file_digest(extract_dir / "figures.jsonl"),
        settings.model_dump(mode="json"),
        sampling,
        [t.version for t in tasks],
    )
    report = StageReport(stage=STAGE, items_in=len(jobs))
    if not dry_run and work.is_done(STAGE, fp, [samples_path, failures_path], retry_failures=True):
        entry = work.manifest["stages"][STAGE]
        report.skipped, report.items_out, report.failures = (
            True,
            entry["counts"]["samples"],
            entry["counts"]["failures"],
        )
        return report

    schema_hint = read_text(folder / "json_schema_instruction.txt")
    endpoints = work.root / ENDPOINTS_FILE
    with Journal(out_dir / "journal.jsonl") as journal:
        client = Client(endpoint, journal, api_key, schema_prompt=schema_hint)
        if dry_run:
            use_cached(client, endpoints)
            return price_without_sending(client, _requests(jobs, work.root, settings), report)
        # Before anything is spent: what the endpoint understands, and whether it takes the images of these jobs.
        caps = ensure_now(client, endpoints, _image_tasks(jobs)) if jobs else None
        if caps is not None:
            report.notes.append(caps.line(endpoint.structured_output))
        with SampleSink(out_dir) as sink:
            collected = _Collected(samples=sink, failures=missing, keep_originals=settings.language == "both")
            stats = _generate(client, jobs, work.root, settings, endpoint, budget, progress, batch, collected)
            if collected.keep_originals and stats.stopped is None:
                client = Client(endpoint, journal, api_key, schema_prompt=schema_hint)
                if caps is not None:
                    client.use(caps, endpoints)
                more = _translate(client, folder, endpoint, budget, progress, batch, collected)
                stats = stats.merge(more)
            failures = sorted(collected.failures, key=lambda f: f.item)
            made = sink.write_sorted(samples_path)
    write_records(failures_path, failures)
    report.items_out = made
    report.count_failures(f.error for f in failures)
    report.seconds, report.usage, report.stopped = stats.elapsed, stats.usage, stats.stopped
    report.stop_reason = stats.stop_reason
    if bad.bad_lines:
        report.notes.append(f"{len(bad.bad_lines)} unreadable lines in extract outputs were skipped")
    work.record(
        STAGE,
        status="done" if stats.stopped is None else stats.stopped,
        fingerprint=fp,
        config={"synthesize": settings.model_dump(mode="json"), "endpoint": _public(endpoint)},
        counts={"jobs": len(jobs), "samples": made, "failures": len(failures)},
        timings={"seconds": round(stats.elapsed, 3)},
        usage=stats.as_dict(),
        endpoint_probe=caps.as_dict() if caps is not None else None,
    )
    return report


@dataclass
class _Collected:
    """What the passes of a run produce (originals are kept only for a translation pass)."""

    samples: SampleSink
    failures: list[Failure] = field(default_factory=list)
    keep_originals: bool = False
    originals: list[Original] = field(default_factory=list)

    def fail(self, result: Result) -> None:
        self.failures.append(result.failure(STAGE))


def _generator(endpoint: EndpointSettings, prompt: ChatPrompt) -> Generator:
    params = {"temperature": endpoint.temperature, "top_p": endpoint.top_p, "seed": endpoint.seed}
    return Generator(model=endpoint.model, prompt_file=prompt.path.name, prompt_sha256=prompt.sha256, params=params)


def _generate(
    client: Client,
    jobs: list[Job],
    root: Path,
    settings: SynthesizeSettings,
    endpoint: EndpointSettings,
    budget: Budget | None,
    progress: Callable[[str, int], Any] | None,
    batch: bool,
    out: _Collected,
) -> RunStats:
    generators: dict[tuple[str, str], Generator] = {}  # one record per prompt, not one per answer

    def on_result(result: Result, usage: Usage) -> None:
        job: Job = result.request.meta["job"]
        if not result.ok or result.answer is None:
            out.fail(result)
            return
        generator = generators.get((job.task.kind, job.language))
        if generator is None:
            generator = generators[job.task.kind, job.language] = _generator(endpoint, job.task.prompt(job.language))
        sample = to_sample(
            job.task,
            job.unit,
            job.language,
            result.value,
            result.answer,
            generator,
            usage,
            thinking_order=settings.thinking_sources,
            target_letter=job.target_letter,
            variant=job.variant,
        )
        out.samples.add(sample)
        if out.keep_originals:
            out.originals.append(Original(sample=sample, value=result.value, job=job))

    requests = _requests(jobs, root, settings)
    return resolve_all(
        client,
        requests,
        on_result,
        total=len(jobs),
        description="synthesize",
        budget=budget,
        progress=progress,
        batch=batch,
    )


def _translate(
    client: Client,
    folder: Path,
    endpoint: EndpointSettings,
    budget: Budget | None,
    progress: Callable[[str, int], Any] | None,
    batch: bool,
    out: _Collected,
) -> RunStats:
    def on_result(result: Result, usage: Usage) -> None:
        original: Original = result.request.meta["original"]
        if not result.ok or result.answer is None:
            out.fail(result)
            return
        job = original.job
        generator = _generator(endpoint, ChatPrompt(folder / f"translate.{original.target}.md"))
        out.samples.add(
            to_sample(
                job.task,
                job.unit,
                original.target,
                result.value,
                result.answer,
                generator,
                usage,
                thinking_order=["schema"],
                target_letter=None,
                variant=job.variant,
            )
        )

    originals = sorted(out.originals, key=lambda o: o.sample.sample_id)
    requests = translation_requests(originals, folder)
    return resolve_all(
        client,
        requests,
        on_result,
        total=len(originals),
        description="translate",
        budget=budget,
        progress=progress,
        batch=batch,
    )


def _image_tasks(jobs: list[Job]) -> str:
    """The tasks among ``jobs`` that send images, named for a message ("" when none do)."""
    kinds = sorted({job.task.kind for job in jobs if job.unit.images})
    return f"the {', '.join(kinds)} task(s) (synthesize.tasks)" if kinds else ""


def _with_images(jobs: list[Job], root: Path) -> tuple[list[Job], list[Failure]]:
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


def _requests(jobs: list[Job], root: Path, settings: SynthesizeSettings) -> Iterator[ChatRequest]:
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


def _public(endpoint: EndpointSettings) -> dict[str, Any]:
    """Endpoint settings as written to the manifest: the key's variable name, never a key."""
    return endpoint.model_dump(mode="json")
