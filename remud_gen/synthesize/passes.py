"""What synthesize's answers become: the generation pass (a sample per answer) and, for language "both", the pass
that translates each sample into the other language."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from remud_gen.llm.client import Client, Result
from remud_gen.llm.dispatch import resolve_all
from remud_gen.llm.request import ChatRequest
from remud_gen.llm.runner import Budget, RunStats
from remud_gen.llm.settings import EndpointSettings
from remud_gen.prompts import ChatPrompt
from remud_gen.records import Failure, Generator, Usage
from remud_gen.synthesize.answers import to_sample
from remud_gen.synthesize.plan import Job
from remud_gen.synthesize.requests import STAGE, requests
from remud_gen.synthesize.settings import SynthesizeSettings
from remud_gen.synthesize.sink import SampleSink
from remud_gen.synthesize.translate import Original, translation_requests


@dataclass
class Collected:
    """What the passes of a run produce (originals are kept only for a translation pass)."""

    samples: SampleSink
    failures: list[Failure] = field(default_factory=list)
    keep_originals: bool = False
    originals: list[Original] = field(default_factory=list)

    def fail(self, result: Result) -> None:
        self.failures.append(result.failure(STAGE))


@dataclass
class Passes:
    """The passes of one run over one endpoint, with its budget, progress bar and mode (live or batch)."""

    settings: SynthesizeSettings
    endpoint: EndpointSettings
    root: Path
    folder: Traversable
    out: Collected
    budget: Budget | None = None
    progress: Callable[[str, int], Any] | None = None
    batch: bool = False

    def generate(self, client: Client, jobs: list[Job]) -> RunStats:
        """Ask every job's request; each answer becomes a sample, each failed request a failure."""
        generators: dict[tuple[str, str], Generator] = {}  # one record per prompt, not one per answer

        def on_result(result: Result, usage: Usage) -> None:
            job: Job = result.request.meta["job"]
            if not result.ok or result.answer is None:
                self.out.fail(result)
                return
            generator = generators.get((job.task.kind, job.language))
            if generator is None:
                prompt = job.task.prompt(job.language)
                generator = generators[job.task.kind, job.language] = _generator(self.endpoint, prompt)
            sample = to_sample(
                job.task,
                job.unit,
                job.language,
                result.value,
                result.answer,
                generator,
                usage,
                thinking_order=self.settings.thinking_sources,
                target_letter=job.target_letter,
                variant=job.variant,
            )
            self.out.samples.add(sample)
            if self.out.keep_originals:
                self.out.originals.append(Original(sample=sample, value=result.value, job=job))

        return self._resolve(client, requests(jobs, self.root, self.settings), on_result, len(jobs), "synthesize")

    def translate(self, client: Client) -> RunStats:
        """Translate every sample the generation pass kept into the other language."""

        def on_result(result: Result, usage: Usage) -> None:
            original: Original = result.request.meta["original"]
            if not result.ok or result.answer is None:
                self.out.fail(result)
                return
            job = original.job
            generator = _generator(self.endpoint, ChatPrompt(self.folder / f"translate.{original.target}.md"))
            self.out.samples.add(
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

        originals = sorted(self.out.originals, key=lambda o: o.sample.sample_id)
        asked = translation_requests(originals, self.folder)
        return self._resolve(client, asked, on_result, len(originals), "translate")

    def _resolve(
        self,
        client: Client,
        asked: Iterable[ChatRequest],
        on_result: Callable[[Result, Usage], None],
        total: int,
        description: str,
    ) -> RunStats:
        return resolve_all(
            client,
            asked,
            on_result,
            total=total,
            description=description,
            budget=self.budget,
            progress=self.progress,
            batch=self.batch,
        )


def _generator(endpoint: EndpointSettings, prompt: ChatPrompt) -> Generator:
    params = {"temperature": endpoint.temperature, "top_p": endpoint.top_p, "seed": endpoint.seed}
    return Generator(model=endpoint.model, prompt_file=prompt.path.name, prompt_sha256=prompt.sha256, params=params)
