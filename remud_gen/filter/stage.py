"""The filter stage: rules, grounding, duplicates and the judge decide; accepted items become the dataset."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from remud_gen.dataset.account import publish
from remud_gen.dataset.review import shown_images
from remud_gen.dataset.shards import read_system_prompts, write_shards
from remud_gen.filter.dedup import find_duplicates
from remud_gen.filter.grounding import grounding_problem
from remud_gen.filter.judge import Source, judge_requests, load_prompts, verdict
from remud_gen.filter.rules import RuleContext, default_rules, run_rules
from remud_gen.filter.settings import FilterSettings
from remud_gen.hashing import file_digest
from remud_gen.io import ReadReport, read_records, write_records
from remud_gen.llm.access import ModelAccess
from remud_gen.llm.capabilities import Capabilities
from remud_gen.llm.client import Result
from remud_gen.llm.dispatch import resolve_all
from remud_gen.llm.request import ChatRequest
from remud_gen.llm.runner import Budget, RunStats
from remud_gen.llm.settings import EndpointSettings
from remud_gen.prompts import prompts_dir, read_text, read_yaml
from remud_gen.records import Chunk, Failure, Figure, Sample, Usage, Verdict
from remud_gen.report import StageReport
from remud_gen.stage import Progress, Stage
from remud_gen.synthesize.units import group_of, panel_group, source_text
from remud_gen.workdir import WorkDir, fingerprint

STAGE = "filter"


def run(
    work: WorkDir,
    settings: FilterSettings,
    model: ModelAccess,
    *,
    budget: Budget | None = None,
    dry_run: bool = False,
    batch: bool = False,
    progress: Progress | None = None,
    prompts: Path | None = None,
) -> StageReport:
    """Filter WORK/synthesize/samples.jsonl into WORK/filter and write the dataset to WORK/dataset.

    Args:
        work: the work directory (synthesize must have run).
        settings: filter settings (rules, grounding, dedup, judge, output).
        model: the endpoint and its key; the judge's model and URL from `settings.judge` override its own.
        budget, dry_run, batch, progress: as for synthesize.
        prompts: a folder of prompts; it wins over ``settings.prompts_dir``; with neither, the packaged prompts.

    Example:
        >>> run(WorkDir(Path("out")), FilterSettings(), ModelAccess(EndpointSettings(base_url=URL), "x"))
    """
    model = model.to(_judge_endpoint(model.endpoint, settings))
    return Filter(work, settings, model, budget, batch, prompts, dry_run=dry_run, progress=progress).run()


class Filter(Stage):
    """Reads WORK/synthesize; writes accepted, rejected and failed items and the dataset in WORK/dataset."""

    name = STAGE
    outputs = ("accepted.jsonl", "rejected.jsonl", "failures.jsonl")
    counted = "accepted"
    retry_failures = True

    def __init__(
        self,
        work: WorkDir,
        settings: FilterSettings,
        model: ModelAccess,
        budget: Budget | None,
        batch: bool,
        prompts: Path | None,
        **options: Any,
    ) -> None:
        super().__init__(work, **options)
        self.settings, self.model, self.budget, self.batch = settings, model, budget, batch
        self.folder = prompts_dir(prompts or settings.prompts_dir)
        self.bad = ReadReport()

    def plan(self) -> str:
        samples_path = self.work.root / "synthesize" / "samples.jsonl"
        self.work.require(samples_path, hint="run `remud-gen synthesize WORK` first")
        self.judge_prompts = load_prompts(self.folder)
        self.hold()
        self.work.stage_dir("dataset")  # the dataset is this stage's output too: held, and cleared of leftovers
        self.samples = list(read_records(samples_path, Sample, self.bad))
        self.report.items_in = len(self.samples)
        judge = self.model.endpoint.model_dump(include={"model", "structured_output"})
        # the folder's name is not what the judge is asked (judge_prompts.version is); leaving it out also keeps the
        # fingerprints of work folders filtered before the key existed
        settings = self.settings.model_dump(mode="json", exclude={"prompts_dir"})
        return fingerprint(file_digest(samples_path), settings, judge, self.judge_prompts.version)

    def produce(self) -> dict[str, Any] | None:
        samples, root = self.samples, self.work.root
        self.figures = _figures(root) if samples else {}
        sources = _sources(root, samples, self.folder, self.figures)
        reasons = _pre_judge(samples, sources, self.settings, root)
        candidates = [s for s in samples if not reasons[s.sample_id]]
        judged = Judged()
        if self.settings.judge.enabled and candidates:
            self._judge(list(judge_requests(candidates, sources, self.judge_prompts, self.settings.judge)), judged)
        if self.dry_run:
            self.report.extra.setdefault("would_send", 0)
            return None
        verdicts = _verdicts(samples, reasons, judged.scores, judged.blind, sources, self.settings)
        self.write_failures(judged.failures)
        return {**self.spent(judged.stats, judged.caps), **self._write(verdicts, judged.stats)}

    def _judge(self, requests: list[ChatRequest], judged: Judged) -> None:
        """Ask the judge about every candidate (in a dry run: price the requests)."""
        with self.journal() as journal:
            client = self.model.client(journal, read_text(self.folder / "json_schema_instruction.txt"))
            if self.dry_run:
                self.price(client, requests)
                return
            images = "the judge's requests for items with an image" if any(r.image_count() for r in requests) else ""
            judged.caps = self.probe(client, images)
            self.report.notes.append(f"judge {judged.caps.line(self.model.endpoint.structured_output)}")
            judged.stats = resolve_all(
                client,
                requests,
                judged.add,
                total=len(requests),
                description="judge",
                budget=self.budget,
                progress=self.progress,
                batch=self.batch,
            )

    def _write(self, verdicts: list[Verdict], stats: RunStats) -> dict[str, Any]:
        """Write the verdicts and the dataset (shards, card, report); return the manifest's config and counts."""
        root, out, output = self.work.root, self.out, self.settings.output
        accepted = [v for v in verdicts if v.accepted]
        write_records(out / "accepted.jsonl", accepted)
        write_records(out / "rejected.jsonl", [v for v in verdicts if not v.accepted])
        system = read_system_prompts(output, self.folder)
        shown = shown_images(verdicts, self.figures, output.report_max_items)
        shards = write_shards([v.sample for v in accepted], root, output, system, extra_images=shown)
        if shards.retired_test:
            self.report.notes.append(
                "the dataset changed, so its old test split was removed: run `remud-gen split` again"
            )
        mine = {**self.settings.model_dump(mode="json"), "judge_model": self.model.endpoint.model}
        config = {
            stage: self.work.manifest["stages"].get(stage, {}).get("config", {}) for stage in ("extract", "synthesize")
        }
        config["filter"] = mine
        publish(root, verdicts, shards, output, figures=self.figures, judge_usage=stats.usage, config=config)
        self.report.items_out = shards.records
        self.report.extra = {"shards": [str(p) for p in shards.shards], "dataset": str(root / "dataset")}
        if self.bad.bad_lines:
            self.report.notes.append(f"{len(self.bad.bad_lines)} unreadable sample lines were skipped")
        self.report.notes.append(f"dataset: {len(shards.shards)} shard(s) in {root / 'dataset'}")
        counts = {"samples": len(self.samples), "accepted": len(accepted), "rejected": len(verdicts) - len(accepted)}
        counts |= {"failures": self.report.failures, "shards": len(shards.shards)}
        return {
            "config": {"filter": self.settings.model_dump(mode="json"), "judge_model": mine["judge_model"]},
            "counts": counts,
        }


@dataclass
class Judged:
    """The judge's answers: scores and blind answers by sample, failed requests, and what asking cost."""

    scores: dict[str, dict[str, Any]] = field(default_factory=dict)
    blind: dict[str, str] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    stats: RunStats = field(default_factory=RunStats)
    caps: Capabilities | None = None

    def add(self, result: Result, usage: Usage) -> None:
        meta = result.request.meta
        if not result.ok:
            self.failures.append(result.failure(STAGE))
        elif meta["what"] == "scores":
            self.scores[meta["sample"]] = result.value
        else:
            self.blind[meta["sample"]] = result.value


def _judge_endpoint(endpoint: EndpointSettings, settings: FilterSettings) -> EndpointSettings:
    update: dict[str, Any] = {"temperature": settings.judge.temperature}
    if settings.judge.model:
        update["model"] = settings.judge.model
    if settings.judge.base_url:
        update["base_url"] = settings.judge.base_url
    return endpoint.model_copy(update=update)


def _figures(root: Path) -> dict[str, Figure]:
    return {f.figure_key: f for f in read_records(root / "extract" / "figures.jsonl", Figure)}


def _sources(root: Path, samples: list[Sample], folder: Traversable, figures: dict[str, Figure]) -> dict[str, Source]:
    """The exact source text (and image) each sample was generated from, as synthesize showed it to the model."""
    chunks = {c.chunk_id: c for c in read_records(root / "extract" / "chunks.jsonl", Chunk)} if samples else {}
    labels = {lang: read_yaml(folder / f"rules.{lang}.yaml")["labels"] for lang in ("zh", "en")}
    sources = {}
    for s in samples:
        ref = s.source
        if ref.figure_key and ref.figure_key in figures:
            fig = figures[ref.figure_key]
            if ref.panel and "+" in ref.panel:  # a vqa-compare item: every panel it was asked about
                fig = panel_group(group_of(fig, ref.panel, figures.values()) or [fig])
            text = source_text(fig, labels[s.language], 1 << 20)
            sources[s.sample_id] = Source(text=text, image=root / fig.image)
        elif ref.chunk_id and ref.chunk_id in chunks:
            sources[s.sample_id] = Source(text=source_text(chunks[ref.chunk_id], {}, 1 << 20), image=None)
        else:
            sources[s.sample_id] = Source(text="", image=None)
    return sources


def _pre_judge(
    samples: list[Sample], sources: dict[str, Source], settings: FilterSettings, root: Path
) -> dict[str, list[str]]:
    """Reasons from rules, grounding and duplicates, per sample (empty: goes on to the judge)."""
    rules = default_rules(settings.rules)
    ctx = RuleContext(work=root)
    reasons: dict[str, list[str]] = {}
    for s in samples:
        found = run_rules(s, rules, ctx)
        if not sources[s.sample_id].text:
            found.append("source_missing: its chunk or figure is not in WORK/extract")
        else:
            problem = grounding_problem(s, sources[s.sample_id].text, settings.grounding)
            if problem:
                found.append(problem)
        reasons[s.sample_id] = found
    clean = [s for s in samples if not reasons[s.sample_id]]
    for sample_id, dup in find_duplicates(clean, settings.dedup).items():
        reasons[sample_id].append(str(dup))
    return reasons


def _verdicts(
    samples: list[Sample],
    reasons: dict[str, list[str]],
    scores: dict[str, dict[str, Any]],
    blind: dict[str, str],
    sources: dict[str, Source],
    settings: FilterSettings,
) -> list[Verdict]:
    verdicts = []
    for s in sorted(samples, key=lambda x: x.sample_id):
        why = list(reasons[s.sample_id])
        flags: list[str] = []
        record, weighted = None, None
        if not why and settings.judge.enabled:
            if s.sample_id not in scores:
                why.append("judge_failed: no judge answer (see WORK/filter/failures.jsonl)")
            else:
                has_image = sources[s.sample_id].image is not None
                record, weighted, problems = verdict(
                    s, scores[s.sample_id], blind.get(s.sample_id), settings.judge, has_image
                )
                if settings.judge.blind_mismatch == "flag":
                    flags = [p for p in problems if p.startswith("blind_mismatch")]
                    problems = [p for p in problems if p not in flags]
                why += problems
        verdicts.append(
            Verdict(sample=s, accepted=not why, reasons=why, flags=flags, scores=record, weighted_score=weighted)
        )
    return verdicts
