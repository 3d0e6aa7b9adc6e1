"""The eval report: the JSON written beside the journal, and the row and notes of the summary table."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from remud_gen.eval.items import EvalData
from remud_gen.eval.outcome import Judged
from remud_gen.eval.passk import score_groups
from remud_gen.eval.settings import EvalSettings
from remud_gen.llm.runner import RunStats
from remud_gen.llm.settings import EndpointSettings
from remud_gen.records import Usage
from remud_gen.report import StageReport

STAGE = "eval"
GROUPS = ("kind", "region", "language")


def build_report(
    data: Path,
    settings: EvalSettings,
    endpoint: EndpointSettings,
    loaded: EvalData,
    judged: Judged,
    rounds: list[RunStats],
    prompt_version: str,
) -> dict[str, Any]:
    """The JSON report: pass@1 overall and by group, every parse failure, bad key and failed request."""
    samples = judged.samples
    usage = sum((r.usage for r in rounds), Usage())
    return {
        "data": str(data),
        "model": endpoint.model,
        "base_url": endpoint.base_url,
        "settings": settings.model_dump(mode="json"),
        "prompt_version": prompt_version,
        "questions": {
            "records": loaded.records,
            "scored": len(judged.scored),
            "unfinished": judged.unfinished,
            "not_mcq": len(loaded.not_mcq),
            "bad_keys": loaded.bad_keys,
            "unreadable": loaded.problems,
        },
        "scores": score_groups(judged.scored, GROUPS, settings.bootstrap, settings.confidence, settings.bootstrap_seed),
        "confidence": settings.confidence,
        "samples": samples,
        "parse_failure_rate": len(judged.parse_failures) / samples if samples else 0.0,
        "parse_failures": judged.parse_failures,
        "request_failures": judged.request_failures,
        "answers_found_by": dict(sorted(judged.found_by.items())),
        "waits": {str(n): count for n, count in sorted(judged.waits.items())},
        "requests": {
            "answered": sum(r.done for r in rounds),
            "from_journal": sum(r.cached for r in rounds),
            "http_attempts": sum(r.sent for r in rounds),
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "cost_usd": round(usage.cost, 6),
        },
    }


def stage_report(
    loaded: EvalData,
    judged: Judged,
    rounds: list[RunStats],
    report: dict[str, Any],
    path: Path,
    started: float,
) -> StageReport:
    """The summary-table row of an eval run, with its pass@1 and what was set aside as notes."""
    overall = report["scores"]["overall"]
    stage = StageReport(
        stage=STAGE,
        items_in=loaded.records,
        items_out=len(judged.scored),
        seconds=time.monotonic() - started,
        usage=sum((r.usage for r in rounds), Usage()),
        stopped=next((r.stopped for r in rounds if r.stopped), None),
        stop_reason=next((r.stop_reason for r in rounds if r.stopped), ""),
        extra={"report": str(path)},
    )
    stage.count_failures(str(f["error"]).split(":", 1)[0] for f in judged.request_failures)
    stage.notes.append(
        f"pass@1 {overall['pass@1']:.4f} ({report['confidence']:.0%} CI {overall['ci_low']:.4f}-"
        f"{overall['ci_high']:.4f}) over {overall['questions']} questions x {report['settings']['k']} samples"
    )
    stage.notes.append(
        f"parse failures: {len(judged.parse_failures)} of {judged.samples} samples "
        f"({report['parse_failure_rate']:.1%}), counted as wrong"
    )
    if loaded.bad_keys:
        stage.notes.append(f"{len(loaded.bad_keys)} question(s) whose key is not one of the option letters: not scored")
    if loaded.not_mcq:
        stage.notes.append(f"{len(loaded.not_mcq)} record(s) without an <answer> key are not multiple-choice: skipped")
    if loaded.problems:
        stage.problems.append(
            f"{len(loaded.problems)} record(s) could not be asked, e.g. {first_problem(loaded.problems)}"
        )
    if judged.request_failures:
        first = judged.request_failures[0]
        stage.problems.append(
            f"{len(judged.request_failures)} sample(s) got no answer from the endpoint and count as wrong, "
            f"e.g. {first['id']}: {first['error']}; the report lists them and a re-run asks them again"
        )
    if judged.in_reasoning_field and report["settings"]["budget_forcing"]["enabled"]:
        stage.notes.append(
            f"budget forcing: {judged.in_reasoning_field} sample(s) had their trace in reasoning_content, "
            "outside the text, and could not be continued"
        )
    if judged.unfinished:
        stage.notes.append(f"{len(judged.unfinished)} question(s) not finished: not scored; run again to finish")
    stage.notes.append(f"report: {path}")
    return stage


def first_problem(problems: list[dict[str, str]]) -> str:
    return f"{problems[0]['id']}: {problems[0]['reason']}"
