"""The synthesize stage: every planned job becomes one request, every answer one sample or one failure."""

from __future__ import annotations

from typing import Any

from remud_gen.errors import ConfigError
from remud_gen.hashing import file_digest
from remud_gen.io import ReadReport
from remud_gen.llm.access import ModelAccess
from remud_gen.llm.client import Client
from remud_gen.llm.journal import Journal
from remud_gen.llm.runner import Budget, RunStats
from remud_gen.prompts import prompts_dir, read_text
from remud_gen.report import StageReport
from remud_gen.stage import Progress, Stage, public
from remud_gen.synthesize.passes import Collected, Passes
from remud_gen.synthesize.plan import load_units, plan_jobs
from remud_gen.synthesize.requests import STAGE, image_tasks, requests, with_images
from remud_gen.synthesize.settings import SynthesizeSettings
from remud_gen.synthesize.sink import SampleSink
from remud_gen.synthesize.tasks import load_task
from remud_gen.workdir import WorkDir, fingerprint


def run(
    work: WorkDir,
    settings: SynthesizeSettings,
    model: ModelAccess,
    *,
    budget: Budget | None = None,
    dry_run: bool = False,
    batch: bool = False,
    progress: Progress | None = None,
) -> StageReport:
    """Generate samples from WORK/extract into WORK/synthesize.

    Args:
        work: the work directory (extract must have run).
        settings: synthesize settings.
        model: the model endpoint and its key (from the environment; never stored).
        budget: optional --limit / --max-cost.
        dry_run: count and price the requests that would be sent, and send nothing.
        batch: send through the OpenAI Batch API (cheaper, slower; resumable by batch id).
        progress: a context-manager factory `(description, total) -> callback(RunStats)` for a live bar.

    Example:
        >>> run(WorkDir(Path("out")), SynthesizeSettings(), ModelAccess(EndpointSettings(base_url=URL), "x"))
    """
    return Synthesize(work, settings, model, budget, batch, dry_run=dry_run, progress=progress).run()


class Synthesize(Stage):
    """Reads WORK/extract; writes samples.jsonl and failures.jsonl; a re-run retries only the failed items."""

    name = STAGE
    outputs = ("samples.jsonl", "failures.jsonl")
    counted = "samples"
    retry_failures = True

    def __init__(
        self,
        work: WorkDir,
        settings: SynthesizeSettings,
        model: ModelAccess,
        budget: Budget | None,
        batch: bool,
        **options: Any,
    ) -> None:
        super().__init__(work, **options)
        self.settings, self.model, self.budget, self.batch = settings, model, budget, batch
        self.bad = ReadReport()

    def plan(self) -> str:
        extract_dir = self.work.root / "extract"
        inputs = extract_dir / "chunks.jsonl", extract_dir / "figures.jsonl"
        self.work.require(*inputs, hint="run `remud-gen extract INPUT -o WORK` first")
        self.folder = prompts_dir(self.settings.prompts_dir)
        tasks = [load_task(kind, self.folder) for kind in self.settings.tasks]
        if not tasks:
            raise ConfigError("synthesize.tasks is empty; name at least one task kind (qa, qa-reasoning, vqa, ...)")
        chunks, figures = load_units(extract_dir, self.settings, self.bad)
        self.jobs, self.missing = with_images(plan_jobs(tasks, chunks, figures, self.settings), self.work.root)
        self.report.items_in = len(self.jobs)
        sampling = self.model.endpoint.model_dump(
            include={"model", "temperature", "top_p", "max_tokens", "seed", "structured_output"}
        )
        digests = [file_digest(p) for p in inputs]
        settings = self.settings.model_dump(mode="json")
        return fingerprint(*digests, settings, sampling, [t.version for t in tasks])

    def produce(self) -> dict[str, Any] | None:
        hint = read_text(self.folder / "json_schema_instruction.txt")
        with self.journal() as journal:
            client = self.model.client(journal, hint)
            if self.dry_run:
                self.price(client, requests(self.jobs, self.work.root, self.settings))
                return None
            # Before anything is spent: what the endpoint understands, and whether it takes the images of these jobs.
            caps = self.probe(client, image_tasks(self.jobs)) if self.jobs else None
            if caps is not None:
                self.report.notes.append(caps.line(self.model.endpoint.structured_output))
            with SampleSink(self.out) as sink:
                made, failures, stats = self._passes(sink, client, journal, hint, caps)
        self.write_failures(failures)
        self.report.items_out = made
        if self.bad.bad_lines:
            self.report.notes.append(f"{len(self.bad.bad_lines)} unreadable lines in extract outputs were skipped")
        config = {"synthesize": self.settings.model_dump(mode="json"), "endpoint": public(self.model.endpoint)}
        counts = {"jobs": len(self.jobs), "samples": made, "failures": len(failures)}
        return {**self.spent(stats, caps), "config": config, "counts": counts}

    def _passes(
        self, sink: SampleSink, client: Client, journal: Journal, hint: str, caps: Any
    ) -> tuple[int, list[Any], RunStats]:
        """Generate, then (language "both") translate; the samples in id order, the failures, the spending."""
        keep = self.settings.language == "both"
        collected = Collected(samples=sink, failures=self.missing, keep_originals=keep)
        passes = Passes(self.settings, self.model.endpoint, self.work.root, self.folder, collected)
        passes.budget, passes.progress, passes.batch = self.budget, self.progress, self.batch
        stats = passes.generate(client, self.jobs)
        if keep and stats.stopped is None:
            client = self.model.client(journal, hint)  # the first was closed when its pass ended
            if caps is not None:
                client.use(caps, self.endpoints)
            stats = stats.merge(passes.translate(client))
        failures = sorted(collected.failures, key=lambda f: f.item)
        return sink.write_sorted(self.out / "samples.jsonl"), failures, stats
