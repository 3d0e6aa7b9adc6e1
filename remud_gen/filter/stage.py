"""The filter stage: rules, grounding, duplicates and the judge decide; accepted items become the dataset."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from remud_gen.filter.account import publish
from remud_gen.filter.dedup import find_duplicates
from remud_gen.filter.grounding import grounding_problem
from remud_gen.filter.judge import Source, judge_requests, load_prompts, verdict
from remud_gen.filter.report import shown_images
from remud_gen.filter.rules import RuleContext, default_rules, run_rules
from remud_gen.filter.settings import FilterSettings
from remud_gen.filter.shards import read_system_prompts, write_shards
from remud_gen.io import ReadReport, read_records, write_records
from remud_gen.llm.capabilities import ENDPOINTS_FILE
from remud_gen.llm.client import Client, Result
from remud_gen.llm.dispatch import price_without_sending, resolve_all
from remud_gen.llm.journal import Journal
from remud_gen.llm.probe import ensure_now, use_cached
from remud_gen.llm.runner import Budget, RunStats
from remud_gen.llm.settings import EndpointSettings
from remud_gen.prompts import prompts_dir, read_text, read_yaml
from remud_gen.records import Chunk, Failure, Figure, Sample, Usage, Verdict
from remud_gen.report import StageReport
from remud_gen.synthesize.units import group_of, panel_group, source_text
from remud_gen.workdir import WorkDir, file_digest, fingerprint

STAGE = "filter"


def run(
    work: WorkDir,
    settings: FilterSettings,
    endpoint: EndpointSettings,
    api_key: str,
    *,
    budget: Budget | None = None,
    dry_run: bool = False,
    batch: bool = False,
    progress: Callable[[str, int], Any] | None = None,
    prompts: Path | None = None,
) -> StageReport:
    """Filter WORK/synthesize/samples.jsonl into WORK/filter and write the dataset to WORK/dataset.

    Example:
        >>> run(WorkDir(Path("out")), FilterSettings(), EndpointSettings(base_url="http://127.0.0.1:8011/v1"), "x")
    """
    samples_path = work.root / "synthesize" / "samples.jsonl"
    work.require(samples_path, hint="run `remud-gen synthesize WORK` first")
    folder = prompts_dir(prompts)
    judge_prompts = load_prompts(folder)
    judge_endpoint = _judge_endpoint(endpoint, settings)
    out = work.stage_dir(STAGE)
    work.stage_dir("dataset")  # the dataset is this stage's output too: held, and cleared of a killed run's leftovers
    outputs = [out / "accepted.jsonl", out / "rejected.jsonl", out / "failures.jsonl"]
    fp = fingerprint(
        file_digest(samples_path),
        settings.model_dump(mode="json"),
        judge_endpoint.model_dump(include={"model", "structured_output"}),
        judge_prompts.version,
    )
    bad = ReadReport()
    samples = list(read_records(samples_path, Sample, bad))
    report = StageReport(stage=STAGE, items_in=len(samples))
    if not dry_run and work.is_done(STAGE, fp, outputs, retry_failures=True):
        entry = work.manifest["stages"][STAGE]
        report.skipped, report.items_out = True, entry["counts"]["accepted"]
        report.failures = entry["counts"]["failures"]
        return report

    figures = _figures(work.root) if samples else {}
    sources = _sources(work.root, samples, folder, figures)
    reasons = _pre_judge(samples, sources, settings, work.root)
    candidates = [s for s in samples if not reasons[s.sample_id]]
    failures: list[Failure] = []
    scores: dict[str, dict[str, Any]] = {}
    blind: dict[str, str] = {}
    stats = RunStats()
    caps = None
    if settings.judge.enabled and candidates:
        endpoints = work.root / ENDPOINTS_FILE
        with Journal(out / "journal.jsonl") as journal:
            client = Client(judge_endpoint, journal, api_key, read_text(folder / "json_schema_instruction.txt"))
            requests = list(judge_requests(candidates, sources, judge_prompts, settings.judge))
            if dry_run:
                use_cached(client, endpoints)
                return price_without_sending(client, requests, report)
            images = "the judge's requests for items with an image" if any(r.image_count() for r in requests) else ""
            caps = ensure_now(client, endpoints, images)
            report.notes.append(f"judge {caps.line(judge_endpoint.structured_output)}")
            stats = _judge(client, requests, scores, blind, failures, budget, progress, batch)
    elif dry_run:
        report.extra = {"would_send": 0}
        return report

    verdicts = _verdicts(samples, reasons, scores, blind, sources, settings)
    accepted = [v for v in verdicts if v.accepted]
    write_records(out / "accepted.jsonl", accepted)
    write_records(out / "rejected.jsonl", [v for v in verdicts if not v.accepted])
    write_records(out / "failures.jsonl", failures)
    system = read_system_prompts(settings.output, folder)
    shown = shown_images(verdicts, figures, settings.output.report_max_items)
    shards = write_shards([v.sample for v in accepted], work.root, settings.output, system, extra_images=shown)
    if shards.retired_test:
        report.notes.append("the dataset changed, so its old test split was removed: run `remud-gen split` again")
    config = {stage: work.manifest["stages"].get(stage, {}).get("config", {}) for stage in ("extract", "synthesize")}
    config["filter"] = {**settings.model_dump(mode="json"), "judge_model": judge_endpoint.model}
    publish(work.root, verdicts, shards, settings.output, figures=figures, judge_usage=stats.usage, config=config)
    report.items_out = shards.records
    report.count_failures(f.error for f in failures)
    report.seconds, report.usage, report.stopped = stats.elapsed, stats.usage, stats.stopped
    report.stop_reason = stats.stop_reason
    report.extra = {"shards": [str(p) for p in shards.shards], "dataset": str(work.root / "dataset")}
    if bad.bad_lines:
        report.notes.append(f"{len(bad.bad_lines)} unreadable sample lines were skipped")
    report.notes.append(f"dataset: {len(shards.shards)} shard(s) in {work.root / 'dataset'}")
    work.record(
        STAGE,
        status="done" if stats.stopped is None else stats.stopped,
        fingerprint=fp,
        config={"filter": settings.model_dump(mode="json"), "judge_model": judge_endpoint.model},
        counts={
            "samples": len(samples),
            "accepted": len(accepted),
            "rejected": len(verdicts) - len(accepted),
            "failures": len(failures),
            "shards": len(shards.shards),
        },
        timings={"seconds": round(stats.elapsed, 3)},
        usage=stats.as_dict(),
        endpoint_probe=caps.as_dict() if caps is not None else None,
    )
    return report


def _judge_endpoint(endpoint: EndpointSettings, settings: FilterSettings) -> EndpointSettings:
    update: dict[str, Any] = {"temperature": settings.judge.temperature}
    if settings.judge.model:
        update["model"] = settings.judge.model
    if settings.judge.base_url:
        update["base_url"] = settings.judge.base_url
    return endpoint.model_copy(update=update)


def _figures(root: Path) -> dict[str, Figure]:
    return {f.figure_key: f for f in read_records(root / "extract" / "figures.jsonl", Figure)}


def _sources(root: Path, samples: list[Sample], folder: Path, figures: dict[str, Figure]) -> dict[str, Source]:
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


def _judge(
    client: Client,
    requests: list[Any],
    scores: dict[str, dict[str, Any]],
    blind: dict[str, str],
    failures: list[Failure],
    budget: Budget | None,
    progress: Callable[[str, int], Any] | None,
    batch: bool,
) -> RunStats:
    def on_result(result: Result, usage: Usage) -> None:
        meta = result.request.meta
        if not result.ok:
            failures.append(result.failure(STAGE))
        elif meta["what"] == "scores":
            scores[meta["sample"]] = result.value
        else:
            blind[meta["sample"]] = result.value

    return resolve_all(
        client,
        requests,
        on_result,
        total=len(requests),
        description="judge",
        budget=budget,
        progress=progress,
        batch=batch,
    )


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
