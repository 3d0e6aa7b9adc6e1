"""The stage commands: extract, synthesize, filter, and run (all three from one config)."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from remud_gen.cli.common import (
    BaseUrlOpt,
    BatchOpt,
    ConcurrencyOpt,
    ConfigOpt,
    DryRunOpt,
    LimitOpt,
    MaxCostOpt,
    ModelOpt,
    WorkArg,
    endpoint_overrides,
    finish,
    guarded,
    model_access,
    summary,
)
from remud_gen.config import Config, load_config
from remud_gen.llm.runner import Budget
from remud_gen.progress import count_progress, request_progress
from remud_gen.report import StageReport
from remud_gen.workdir import WorkDir


class Format(StrEnum):
    """Dataset formats --format takes (sharegpt is always written)."""

    sharegpt = "sharegpt"
    openai = "openai"
    hf = "hf"


InputsArg = Annotated[
    list[Path], typer.Argument(metavar="INPUT...", help="PDF files, image files, or folders of them.")
]
OutOpt = Annotated[Path, typer.Option("-o", "--out", metavar="WORK", help="The work directory to write.")]
PasswordOpt = Annotated[str | None, typer.Option("--password", metavar="TEXT", help="Password of encrypted PDFs.")]
WorkersOpt = Annotated[int | None, typer.Option("--workers", metavar="N", help="Extract processes (0: one per core).")]
RayOpt = Annotated[
    bool, typer.Option("--ray", help="Extract on Ray: RAY_ADDRESS's cluster, else Ray on this machine's cores.")
]
RayAddressOpt = Annotated[
    str | None,
    typer.Option("--ray-address", metavar="ADDRESS", help="Extract on the Ray cluster at ADDRESS (implies --ray)."),
]
TaskOpt = Annotated[
    list[str] | None, typer.Option("--task", metavar="KIND", help="Task kind to generate (repeatable).")
]
LanguageOpt = Annotated[
    Literal["auto", "zh", "en", "both"] | None,
    typer.Option("--language", help="Item language: auto (the source's), zh, en, or both (adds a translation)."),
]
ThresholdOpt = Annotated[
    float | None, typer.Option("--threshold", metavar="SCORE", help="Judge score an item needs (1-5).")
]
FormatOpt = Annotated[
    list[Format] | None,
    typer.Option(
        "--format", metavar="sharegpt|openai|hf", help="Also write this format beside the ShareGPT shards (repeatable)."
    ),
]
ImageBaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--image-base-url",
        metavar="URL",
        help="openai format: image URLs are this prefix + images/<name> (host dataset/images there); default: inline.",
    ),
]
DetectorOpt = Annotated[
    Literal["analysis", "vlm"] | None,
    typer.Option("--detector", help="Figure finder on scanned pages: analysis, or vlm (the endpoint, cross-checked)."),
]
ImagesOpt = Annotated[
    Literal["auto", "page", "figure"] | None,
    typer.Option(
        "--images", help="Image inputs: auto (a page image is a scanned page, a picture one figure), page or figure."
    ),
]
NoJudgeOpt = Annotated[bool, typer.Option("--no-judge", help="Rule checks and dedup only; no judge model.")]


def extract(
    inputs: InputsArg,
    out: OutOpt,
    config: ConfigOpt = None,
    password: PasswordOpt = None,
    workers: WorkersOpt = None,
    ray: RayOpt = False,
    ray_address: RayAddressOpt = None,
    dpi: Annotated[int | None, typer.Option("--dpi", metavar="DPI", help="Render resolution of figure crops.")] = None,
    detector: DetectorOpt = None,
    images: ImagesOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    concurrency: ConcurrencyOpt = None,
) -> None:
    """Find text chunks and figures (crop, caption, panel, legend, is-ultrasound) in PDFs and images.

    With --detector vlm the vision endpoint boxes the figures of scanned pages, cross-checked with image analysis.
    Page images (JPG/PNG of whole pages, numbered in one folder) are read as the scanned pages of one book.

    \b
    Example:
      remud-gen extract books/ atlas.pdf -o out/
      remud-gen extract scans/ -o out/ --detector vlm --base-url http://127.0.0.1:8000/v1
      RAY_ADDRESS=ray://head:10001 remud-gen extract /mnt/library/ -o out/ --ray
    """
    overrides = endpoint_overrides(base_url, model, concurrency) | _ray_overrides(ray, ray_address)
    overrides |= {"extract.password": password, "extract.dpi": dpi, "extract.detector": detector, "workers": workers}
    overrides["extract.images"] = images
    cfg = load_config(config, overrides)
    finish([_extract(cfg, inputs, out)])


def synthesize(
    work: WorkArg,
    config: ConfigOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    concurrency: ConcurrencyOpt = None,
    task: TaskOpt = None,
    language: LanguageOpt = None,
    limit: LimitOpt = None,
    max_cost: MaxCostOpt = None,
    dry_run: DryRunOpt = False,
    batch: BatchOpt = False,
) -> None:
    """Ask a multimodal model for QA / VQA items with reasoning, one source unit per request.

    \b
    Example:
      remud-gen synthesize out/ --base-url http://127.0.0.1:8000/v1 --model Qwen/Qwen2.5-VL-7B-Instruct
    """
    overrides = endpoint_overrides(base_url, model, concurrency)
    overrides |= {"synthesize.tasks": task or None, "synthesize.language": language}
    cfg = load_config(config, overrides)
    finish([_synthesize(cfg, work, Budget(limit=limit, max_cost=max_cost), dry_run, batch)])


def filter_(
    work: WorkArg,
    config: ConfigOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    concurrency: ConcurrencyOpt = None,
    threshold: ThresholdOpt = None,
    fmt: FormatOpt = None,
    image_base_url: ImageBaseUrlOpt = None,
    no_judge: NoJudgeOpt = False,
    limit: LimitOpt = None,
    max_cost: MaxCostOpt = None,
    dry_run: DryRunOpt = False,
    batch: BatchOpt = False,
) -> None:
    """Check rules, drop duplicates, score items with a grounded judge, and write the dataset shards.

    \b
    Example:
      remud-gen filter out/ --threshold 4 --format openai
    """
    overrides = endpoint_overrides(base_url, model, concurrency)
    extra = [f.value for f in fmt or [] if f != Format.sharegpt]
    overrides |= {"filter.judge.threshold": threshold, "filter.output.formats": extra if fmt else None}
    overrides["filter.output.image_base_url"] = image_base_url
    if no_judge:
        overrides["filter.judge.enabled"] = False
    cfg = load_config(config, overrides)
    finish([_filter(cfg, work, Budget(limit=limit, max_cost=max_cost), dry_run, batch)])


def run(
    inputs: InputsArg,
    out: OutOpt,
    config: ConfigOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    concurrency: ConcurrencyOpt = None,
    password: PasswordOpt = None,
    workers: WorkersOpt = None,
    ray: RayOpt = False,
    ray_address: RayAddressOpt = None,
    max_cost: MaxCostOpt = None,
    batch: BatchOpt = False,
) -> None:
    """Run extract, synthesize and filter one after another from one config.

    \b
    Example:
      remud-gen run books/ -o out/ -c configs/openai-gpt-4o.yaml --max-cost 20
    """
    overrides = endpoint_overrides(base_url, model, concurrency) | _ray_overrides(ray, ray_address)
    overrides |= {"extract.password": password, "workers": workers}
    cfg = load_config(config, overrides)
    reports = [_extract(cfg, inputs, out)]
    if reports[0].items_out == 0 or reports[0].stopped:
        finish(reports)
        return
    budget = Budget(max_cost=max_cost)
    reports.append(_synthesize(cfg, out, budget, False, batch))
    if not reports[-1].stopped:
        reports.append(_filter(cfg, out, budget, False, batch))
    finish(reports)


def _ray_overrides(ray: bool, address: str | None) -> dict[str, Any]:
    return {"extract.executor": "ray" if ray or address else None, "extract.ray.address": address}


# Stages are imported when used: `synthesize` should not pay for importing the PDF and image libraries.


def _extract(cfg: Config, inputs: list[Path], out: Path) -> StageReport:
    from remud_gen.extract import stage as extract_stage

    return extract_stage.run(
        WorkDir(out),
        inputs,
        cfg.extract,
        workers=cfg.workers,
        progress=count_progress,
        model=model_access(cfg),
    )


def _synthesize(cfg: Config, work: Path, budget: Budget, dry_run: bool, batch: bool) -> StageReport:
    from remud_gen import synthesize as synthesize_stage

    return _with_model(synthesize_stage.run, cfg.synthesize, cfg, work, budget, dry_run, batch)


def _filter(cfg: Config, work: Path, budget: Budget, dry_run: bool, batch: bool) -> StageReport:
    from remud_gen import filter as filter_stage

    return _with_model(filter_stage.run, cfg.filter, cfg, work, budget, dry_run, batch)


def _with_model(
    run_stage: Callable[..., StageReport],
    settings: Any,
    cfg: Config,
    work: Path,
    budget: Budget,
    dry_run: bool,
    batch: bool,
) -> StageReport:
    """Run a stage that asks the model: the client comes from the config, the key from the environment."""
    report = run_stage(
        WorkDir(work),
        settings,
        model_access(cfg),
        budget=budget,
        dry_run=dry_run,
        batch=batch,
        progress=request_progress,
    )
    _dry_run_note(report, dry_run)
    return report


def _dry_run_note(report: StageReport, dry_run: bool) -> None:
    if dry_run:
        x: dict[str, Any] = report.extra
        report.notes.append(
            f"dry run: would send {x.get('would_send', 0)} requests, about {x.get('est_prompt_tokens', 0):,} prompt "
            f"+ {x.get('est_completion_tokens', 0):,} completion tokens, ${report.usage.cost:.4f}; sent nothing"
        )


def register(app: typer.Typer) -> None:
    app.command("extract", short_help="PDFs and images -> text chunks and figures.")(guarded(extract))
    app.command("synthesize", short_help="A model writes QA/VQA items with reasoning.")(guarded(synthesize))
    app.command("filter", short_help="Rules, dedup, grounded judge -> dataset shards.")(guarded(filter_))
    app.command("run", short_help="extract, synthesize and filter from one config.")(guarded(run))


__all__ = ["register", "summary"]
