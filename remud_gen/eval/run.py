"""The eval stage: ask every multiple-choice question k times, read the letters, report pass@1 as ReMUD does.

<data>.eval/journal.jsonl        every answer paid for (the same model and settings again send nothing)
<data>.eval/report-<model>.json  pass@1 overall, by kind, region and language, with bootstrap intervals;
                                 parse-failure rate; every parse failure, bad key and unreadable record
--out FILE                       a JSON line per question: key, each sample's letter, output, verdict
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from remud_gen.errors import InputError
from remud_gen.eval.forcing import ContinuingClient, SampleOutput, force
from remud_gen.eval.items import EvalData, load
from remud_gen.eval.outcome import judge
from remud_gen.eval.prompting import load_prompts, sample_request, system_text
from remud_gen.eval.settings import EvalSettings
from remud_gen.eval.summary import build_report, first_problem, stage_report
from remud_gen.io import atomic_open, dumps, write_json
from remud_gen.llm.capabilities import ENDPOINTS_FILE
from remud_gen.llm.client import Client, Result
from remud_gen.llm.dispatch import resolve_all
from remud_gen.llm.journal import Journal
from remud_gen.llm.probe import ensure_now
from remud_gen.llm.request import ChatRequest
from remud_gen.llm.runner import Budget
from remud_gen.llm.settings import EndpointSettings
from remud_gen.records import Usage
from remud_gen.report import StageReport


@dataclass
class EvalResult:
    """What an eval run produced: the summary-table row, the JSON report and where the files are."""

    stage: StageReport
    report: dict[str, Any]
    report_path: Path
    predictions_path: Path | None = None


def default_work(data: Path) -> Path:
    """The eval work folder beside the data file: ``test.json`` -> ``test.json.eval/``."""
    return data.with_name(data.name + ".eval")


def run(
    data: Path,
    settings: EvalSettings,
    endpoint: EndpointSettings,
    api_key: str,
    *,
    work: Path | None = None,
    out: Path | None = None,
    budget: Budget | None = None,
    progress: Callable[[str, int], Any] | None = None,
) -> EvalResult:
    """Score ``endpoint.model`` on the multiple-choice questions of ``data``.

    Args:
        data: ShareGPT records (test.json, a shard, or JSON lines); images relative to the file.
        settings: k, sampling, scoring and budget forcing.
        endpoint: where the model is served (its ``model`` is the one scored).
        api_key: the endpoint's key.
        work: folder of the journal and the report (default ``<data>.eval/``).
        out: also write per-question predictions to this JSONL file.
        budget, progress: as for every stage.

    Raises:
        InputError: the file is unreadable or holds no question that can be scored.

    Example:
        >>> run(Path("out/dataset/test.json"), EvalSettings(), EndpointSettings(model="ReMUD-7B"), "x")
    """
    started = time.monotonic()
    loaded = load(data, settings.letters)
    if not loaded.items:
        raise InputError(_nothing_to_ask(data, loaded))
    prompts = load_prompts(settings)
    folder = work or default_work(data)
    requests: dict[tuple[str, int], ChatRequest] = {}
    for item in loaded.items:
        system = system_text(item, settings, prompts)
        for i in range(settings.k):
            requests[(item.id, i)] = sample_request(item, i, settings, system)
    outputs: dict[tuple[str, int], SampleOutput] = {}

    def on_result(result: Result, usage: Usage) -> None:
        key = (result.request.meta["item"], result.request.meta["sample"])
        if result.ok:
            reasoning = bool(result.answer is not None and result.answer.reasoning)
            outputs[key] = SampleOutput(text=str(result.value), reasoning_field=reasoning)
        else:
            outputs[key] = SampleOutput(error=f"{result.error}: {result.message}")

    endpoints = folder / ENDPOINTS_FILE
    with Journal(folder / "journal.jsonl") as journal:
        # Questions carry no schema; what is probed is whether their images reach the model (exit 3 if not).
        images = "the questions with an image" if any(r.image_count() for r in requests.values()) else ""
        caps = ensure_now(ContinuingClient(endpoint, journal, api_key), endpoints, images, schemas=False)

        def make_client() -> Client:
            client = ContinuingClient(endpoint, journal, api_key)
            client.use(caps, endpoints)
            return client

        rounds = [
            resolve_all(
                make_client(),
                requests.values(),
                on_result,
                total=len(requests),
                description="eval",
                budget=budget,
                progress=progress,
            )
        ]
        forcing = settings.budget_forcing
        if forcing.enabled and not rounds[0].stopped:
            language = {item.id: item.language for item in loaded.items}
            rounds += force(
                outputs,
                requests,
                lambda key: prompts.wait_word(language[key[0]]),
                forcing.min_tokens,
                forcing.max_waits,
                make_client,
                budget,
                progress,
            )

    judged = judge(loaded.items, outputs, settings.k, settings.seed)
    report = build_report(data, settings, endpoint, loaded, judged, rounds, prompts.version)
    report["endpoint_probe"] = caps.as_dict()
    report_path = folder / f"report-{_slug(endpoint.model)}.json"
    write_json(report_path, report)
    if out is not None:
        with atomic_open(out) as fh:
            for line in judged.predictions:
                fh.write(dumps(line) + "\n")
    return EvalResult(stage_report(loaded, judged, rounds, report, report_path, started), report, report_path, out)


def _nothing_to_ask(data: Path, loaded: EvalData) -> str:
    why = [f"{loaded.records} record(s)", f"{len(loaded.not_mcq)} without an <answer> key"]
    if loaded.bad_keys:
        why.append(f"{len(loaded.bad_keys)} with a key that is no option letter")
    if loaded.problems:
        why.append(f"{len(loaded.problems)} unreadable, e.g. {first_problem(loaded.problems)}")
    return f"{data} holds no multiple-choice question to score ({', '.join(why)})"


def _slug(model: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_") or "model"
