"""The eval stage: ask every multiple-choice question k times, read the letters, report pass@1 as ReMUD does.

<data>.eval/journal.jsonl        every answer paid for (the same model and settings again send nothing)
<data>.eval/report-<model>.json  pass@1 overall, by kind, region and language, with bootstrap intervals;
                                 parse-failure rate; every parse failure, bad key and unreadable record
--out FILE                       a JSON line per question: key, each sample's letter, output, verdict
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from remud_gen.errors import InputError
from remud_gen.eval.forcing import ContinuingClient, SampleOutput, force
from remud_gen.eval.items import EvalData, load
from remud_gen.eval.outcome import judge
from remud_gen.eval.prompting import load_prompts, sample_request, system_text
from remud_gen.eval.settings import EvalSettings
from remud_gen.eval.summary import STAGE, build_report, first_problem, stage_report
from remud_gen.io import atomic_open, dumps, write_json
from remud_gen.llm.access import ModelAccess
from remud_gen.llm.capabilities import Capabilities
from remud_gen.llm.client import Client, Result
from remud_gen.llm.dispatch import resolve_all
from remud_gen.llm.request import ChatRequest
from remud_gen.llm.runner import Budget, RunStats
from remud_gen.records import Usage
from remud_gen.report import StageReport
from remud_gen.stage import Progress, Stage
from remud_gen.workdir import WorkDir


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
    model: ModelAccess,
    *,
    work: Path | None = None,
    out: Path | None = None,
    budget: Budget | None = None,
    progress: Progress | None = None,
) -> EvalResult:
    """Score ``model.endpoint.model`` on the multiple-choice questions of ``data``.

    Args:
        data: ShareGPT records (test.json, a shard, or JSON lines); images relative to the file.
        settings: k, sampling, scoring and budget forcing.
        model: where the model is served (its ``model`` is the one scored) and the key.
        work: folder of the journal and the report (default ``<data>.eval/``).
        out: also write per-question predictions to this JSONL file.
        budget, progress: as for every stage.

    Raises:
        InputError: the file is unreadable or holds no question that can be scored.

    Example:
        >>> run(Path("out/dataset/test.json"), EvalSettings(), ModelAccess(EndpointSettings(model="ReMUD-7B"), "x"))
    """
    model = replace(model, client_class=ContinuingClient)
    stage = Eval(WorkDir(work or default_work(data)), data, settings, model, out, budget, progress=progress)
    report = stage.run()
    return EvalResult(report, stage.scores, stage.report_path, out)


class Eval(Stage):
    """Reads a data file; writes its journal and report beside it (no manifest: the journal makes a re-run free)."""

    name = STAGE

    def __init__(
        self,
        work: WorkDir,
        data: Path,
        settings: EvalSettings,
        model: ModelAccess,
        predictions: Path | None,
        budget: Budget | None,
        **options: Any,
    ) -> None:
        super().__init__(work, **options)
        self.data, self.settings, self.model, self.predictions, self.budget = data, settings, model, predictions, budget
        self.scores: dict[str, Any] = {}
        self.report_path = work.root / f"report-{_slug(model.endpoint.model)}.json"

    @cached_property
    def out(self) -> Path:
        return self.work.root  # the eval folder itself: several evals of one file may share it

    def plan(self) -> str:
        self.loaded = load(self.data, self.settings.letters)
        if not self.loaded.items:
            raise InputError(_nothing_to_ask(self.data, self.loaded))
        self.prompts = load_prompts(self.settings)
        self.requests: dict[tuple[str, int], ChatRequest] = {}
        for item in self.loaded.items:
            system = system_text(item, self.settings, self.prompts)
            for i in range(self.settings.k):
                self.requests[(item.id, i)] = sample_request(item, i, self.settings, system)
        return ""  # never skipped: what was answered comes back from the journal

    def produce(self) -> dict[str, Any] | None:
        outputs: dict[tuple[str, int], SampleOutput] = {}
        with self.journal() as journal:
            # Questions carry no schema; what is probed is whether their images reach the model (exit 3 if not).
            images = "the questions with an image" if any(r.image_count() for r in self.requests.values()) else ""
            caps = self.probe(self.model.client(journal), images, schemas=False)
            rounds = self._ask(outputs, lambda: _using(self.model.client(journal), caps, self.endpoints))
        judged = judge(self.loaded.items, outputs, self.settings.k, self.settings.seed)
        scores = build_report(
            self.data, self.settings, self.model.endpoint, self.loaded, judged, rounds, self.prompts.version
        )
        self.scores = {**scores, "endpoint_probe": caps.as_dict()}
        write_json(self.report_path, self.scores)
        if self.predictions is not None:
            with atomic_open(self.predictions) as fh:
                for line in judged.predictions:
                    fh.write(dumps(line) + "\n")
        self.report = stage_report(self.loaded, judged, rounds, self.scores, self.report_path, self.started)
        return None

    def _ask(self, outputs: dict[tuple[str, int], SampleOutput], make_client: Callable[[], Client]) -> list[RunStats]:
        """Every sample of every question, then the budget-forcing rounds; what each round cost."""

        def on_result(result: Result, usage: Usage) -> None:
            key = (result.request.meta["item"], result.request.meta["sample"])
            if result.ok:
                reasoning = bool(result.answer is not None and result.answer.reasoning)
                outputs[key] = SampleOutput(text=str(result.value), reasoning_field=reasoning)
            else:
                outputs[key] = SampleOutput(error=f"{result.error}: {result.message}")

        requests, budget, progress = self.requests, self.budget, self.progress
        total = len(requests)
        rounds = [
            resolve_all(
                make_client(),
                requests.values(),
                on_result,
                total=total,
                description="eval",
                budget=budget,
                progress=progress,
            )
        ]
        forcing = self.settings.budget_forcing
        if forcing.enabled and not rounds[0].stopped:
            language = {item.id: item.language for item in self.loaded.items}
            wait = self.prompts.wait_word
            rounds += force(
                outputs,
                requests,
                lambda key: wait(language[key[0]]),
                forcing.min_tokens,
                forcing.max_waits,
                make_client,
                budget,
                progress,
            )
        return rounds


def _using(client: Client, caps: Capabilities, endpoints: Path) -> Client:
    client.use(caps, endpoints)
    return client


def _nothing_to_ask(data: Path, loaded: EvalData) -> str:
    why = [f"{loaded.records} record(s)", f"{len(loaded.not_mcq)} without an <answer> key"]
    if loaded.bad_keys:
        why.append(f"{len(loaded.bad_keys)} with a key that is no option letter")
    if loaded.problems:
        why.append(f"{len(loaded.problems)} unreadable, e.g. {first_problem(loaded.problems)}")
    return f"{data} holds no multiple-choice question to score ({', '.join(why)})"


def _slug(model: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_") or "model"
