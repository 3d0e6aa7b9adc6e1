"""The bookkeeping every stage shares, in one base: a stage writes only its own outputs, the rest happens here.

A concrete stage (datatrove's `PipelineStep` idea) says what decides its output (`plan`: check and read the inputs,
return their fingerprint) and does its work (`produce`: write the outputs, fill the report, return the manifest
entry). The base holds the stage folder (and its lock), skips a stage whose inputs and settings are unchanged since it
finished, opens the journal of answers, probes or prices the endpoint, writes `failures.jsonl`, records the manifest
entry and hands back the report.

A stage never builds its model client from settings: it receives a `ModelAccess` (`llm/access.py`; the CLI builds it
from the config, a test points one at a local server) and asks it for a client bound to the stage's journal.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

from remud_gen.io import write_records
from remud_gen.llm.capabilities import ENDPOINTS_FILE
from remud_gen.llm.journal import Journal
from remud_gen.records import Failure
from remud_gen.report import StageReport
from remud_gen.workdir import WorkDir

if TYPE_CHECKING:  # the client pulls in the HTTP stack: a stage that sends nothing (split, a skip) never pays for it
    from remud_gen.llm.capabilities import Capabilities
    from remud_gen.llm.client import Client
    from remud_gen.llm.request import ChatRequest
    from remud_gen.llm.runner import RunStats

Progress = Callable[[str, int], Any]
_SECRETS = ("password",)  # settings fields whose value never reaches the manifest


class Stage(ABC):
    """One stage of the pipeline: ``run()`` plans, skips when up to date, produces, records and reports.

    Attributes:
        name: the stage, its folder in WORK and its key in the manifest.
        outputs: the files whose presence a skip requires (relative to the stage folder).
        counted: the manifest count reported as the stage's output on a skip.
        retry_failures: a run that left failed items is not up to date (its journal makes the retry cheap).
    """

    name: ClassVar[str]
    outputs: ClassVar[tuple[str, ...]] = ()
    counted: ClassVar[str] = ""
    retry_failures: ClassVar[bool] = False

    def __init__(self, work: WorkDir, *, dry_run: bool = False, progress: Progress | None = None) -> None:
        self.work = work
        self.dry_run = dry_run
        self.progress = progress
        self.report = StageReport(stage=self.name)
        self.started = time.monotonic()
        self.endpoints = work.root / ENDPOINTS_FILE  # what probes of the endpoint found, shared by the stages

    @cached_property
    def out(self) -> Path:
        """WORK/<name>, held by this process for the run."""
        return self.work.stage_dir(self.name)

    @abstractmethod
    def plan(self) -> str:
        """Check and read the inputs; return the fingerprint of everything that decides the outputs."""

    @abstractmethod
    def produce(self) -> dict[str, Any] | None:
        """Do the stage's work and fill ``self.report``; return its manifest entry (None: record nothing)."""

    def run(self) -> StageReport:
        """Plan, skip when up to date, produce, record the manifest entry; return the report."""
        fingerprint = self.plan()
        self.hold()
        if not self.dry_run and self.up_to_date(fingerprint):
            return self.report
        entry = self.produce()
        if entry is not None:
            entry.setdefault("timings", {"seconds": round(self.report.seconds or self.elapsed(), 3)})
            self.work.record(self.name, fingerprint=fingerprint, **entry)
        return self.report

    def hold(self) -> Path:
        """Take the stage folder for this run (its lock; a killed run's temporary files are removed)."""
        return self.out

    def up_to_date(self, fingerprint: str) -> bool:
        """Whether the last run had this fingerprint and left its outputs; if so the report says it was skipped."""
        outputs = [self.out / name for name in self.outputs]
        if not self.work.is_done(self.name, fingerprint, outputs, retry_failures=self.retry_failures):
            return False
        counts = self.work.manifest["stages"][self.name]["counts"]
        self.report.skipped = True
        self.report.items_out, self.report.failures = counts[self.counted], counts.get("failures", 0)
        return True

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @contextmanager
    def journal(self) -> Iterator[Journal]:
        """The journal of answers in the stage folder: what a re-run finds instead of paying again."""
        with Journal(self.out / "journal.jsonl") as journal:
            yield journal

    def probe(self, client: Client, images: str, *, schemas: bool = True) -> Capabilities:
        """What the endpoint understands, and whether it takes the images ``images`` names, before anything is spent.

        Raises:
            EndpointError: the endpoint is unreachable or refuses what the requests need.
        """
        from remud_gen.llm.probe import ensure_now

        return ensure_now(client, self.endpoints, images, schemas=schemas)

    def price(self, client: Client, requests: Iterable[ChatRequest]) -> None:
        """A dry run: count and price ``requests`` into the report, sending nothing."""
        from remud_gen.llm.dispatch import price_without_sending
        from remud_gen.llm.probe import use_cached

        use_cached(client, self.endpoints)
        price_without_sending(client, requests, self.report)

    def spent(self, stats: RunStats, caps: Capabilities | None) -> dict[str, Any]:
        """Copy a run's time, money and stop into the report; return them as manifest fields."""
        self.report.seconds, self.report.usage, self.report.stopped = stats.elapsed, stats.usage, stats.stopped
        self.report.stop_reason = stats.stop_reason
        return {
            "status": "done" if stats.stopped is None else stats.stopped,
            "timings": {"seconds": round(stats.elapsed, 3)},
            "usage": stats.as_dict(),
            "endpoint_probe": caps.as_dict() if caps is not None else None,
        }

    def write_failures(self, failures: list[Failure]) -> None:
        """Write `failures.jsonl` and count the failed items by class in the report."""
        write_records(self.out / "failures.jsonl", failures)
        self.report.count_failures(f.error for f in failures)


def public(settings: BaseModel) -> dict[str, Any]:
    """Settings as the manifest keeps them: secrets masked (an endpoint holds only its key's variable name)."""
    data = settings.model_dump(mode="json")
    for key in _SECRETS:
        if data.get(key):
            data[key] = "***"
    return data
