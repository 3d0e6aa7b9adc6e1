"""The `split` and `eval` commands: hold out a test set that does not leak, and score a model on it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from remud_gen.cli.common import (
    BaseUrlOpt,
    ConcurrencyOpt,
    ConfigOpt,
    LimitOpt,
    MaxCostOpt,
    WorkArg,
    endpoint_overrides,
    finish,
    guarded,
    model_access,
    out,
)
from remud_gen.config import load_config
from remud_gen.errors import ConfigError
from remud_gen.llm.runner import Budget
from remud_gen.progress import request_progress
from remud_gen.workdir import WorkDir

TestSizeOpt = Annotated[
    str | None,
    typer.Option("--test-size", metavar="N|FRACTION", help="Items to hold out: a number (300) or a fraction (0.1)."),
]
DataOpt = Annotated[
    Path, typer.Option("--data", metavar="FILE", help="test.json, a shard, or a JSONL of ShareGPT records.")
]
EvalModelOpt = Annotated[
    str, typer.Option("--model", metavar="NAME", help="The model to score, as the endpoint names it.")
]
KOpt = Annotated[int | None, typer.Option("-k", metavar="K", help="Samples per question (ReMUD: 4).")]
TemperatureOpt = Annotated[
    float | None, typer.Option("--temperature", metavar="T", help="Sampling temperature (ReMUD: 0.6).")
]
TopPOpt = Annotated[float | None, typer.Option("--top-p", metavar="P", help="Nucleus sampling mass (ReMUD: 0.7).")]
PredictionsOpt = Annotated[
    Path | None, typer.Option("--predictions", metavar="FILE", help="Write per-question predictions to this JSONL.")
]
EvalWorkOpt = Annotated[
    Path | None, typer.Option("--work", metavar="DIR", help="Folder of the journal and report (default: <data>.eval/).")
]


def split(work: WorkArg, test_size: TestSizeOpt = None, config: ConfigOpt = None) -> None:
    """Hold out a stratified test set of multiple-choice items and drop training items that leak it.

    Writes WORK/dataset/test.json and rewrites the training shards; the removed items and why are in
    WORK/split/report.json. Running it again with the same settings changes nothing.

    \b
    Example:
      remud-gen split out/ --test-size 300
    """
    cfg = load_config(config, {"split.test_size": _test_size(test_size)})
    from remud_gen.dataset import split as split_stage

    folder = WorkDir(work)
    finish([split_stage.run(folder, cfg.split, split_stage.dataset_output(folder, cfg.filter.output))])


def eval_(
    data: DataOpt,
    model: EvalModelOpt,
    config: ConfigOpt = None,
    base_url: BaseUrlOpt = None,
    concurrency: ConcurrencyOpt = None,
    k: KOpt = None,
    temperature: TemperatureOpt = None,
    top_p: TopPOpt = None,
    predictions: PredictionsOpt = None,
    work: EvalWorkOpt = None,
    limit: LimitOpt = None,
    max_cost: MaxCostOpt = None,
) -> None:
    """Score a model on multiple-choice questions: pass@1 over k samples, as ReMUD reports it.

    Answers are read from <answer>X</answer> (else a final "Answer: X" / "答案：X" or a lone letter);
    parse failures count as wrong and are listed in the report. Answers are journaled: the same command
    again sends nothing.

    \b
    Example:
      remud-gen eval --data out/dataset/test.json --model ReMUD-7B --base-url http://127.0.0.1:8000/v1 -k 4
    """
    overrides = endpoint_overrides(base_url, model, concurrency)
    overrides |= {"eval.k": k, "eval.temperature": temperature, "eval.top_p": top_p}
    cfg = load_config(config, overrides)
    from remud_gen.eval import run as eval_stage

    result = eval_stage.run(
        data,
        cfg.eval,
        model_access(cfg),
        work=work,
        out=predictions,
        budget=Budget(limit=limit, max_cost=max_cost),
        progress=request_progress,
    )
    print_scores(result.report)
    finish([result.stage])


def print_scores(report: dict[str, Any]) -> None:
    """The pass@1 table: overall, then by kind, region and language."""
    scores = report["scores"]
    level = f"{report['confidence']:.0%} CI"
    table = Table(title=f"pass@1 of {report['model']} (k={report['settings']['k']})", title_justify="left")
    for col in ("group", "questions", "pass@1", level):
        table.add_column(col, justify="left" if col == "group" else "right")
    rows = [("overall", scores["overall"])]
    for by in ("kind", "region", "language"):
        rows += [(f"{by}: {name}", s) for name, s in scores.get(f"by_{by}", {}).items()]
    for name, s in rows:
        table.add_row(name, str(s["questions"]), f"{s['pass@1']:.4f}", f"{s['ci_low']:.4f}-{s['ci_high']:.4f}")
    out.print(table)


def _test_size(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"--test-size {text!r}: write a number of items (300) or a fraction (0.1)") from None
    return value


def register(app: typer.Typer) -> None:
    app.command("split")(guarded(split))
    app.command("eval")(guarded(eval_))
