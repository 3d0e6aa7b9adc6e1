"""The extract stage's side of the VLM detector: what goes into the cache keys, the one reachability check, the
concurrency split across workers, and the summary of what the workers did.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from remud_gen.errors import EndpointError
from remud_gen.extract.settings import ExtractSettings
from remud_gen.extract.vlm.crosscheck import CheckCounts
from remud_gen.extract.vlm.job import VlmJob, box_format
from remud_gen.llm.access import ModelAccess
from remud_gen.llm.settings import EndpointSettings
from remud_gen.records import Usage
from remud_gen.report import StageReport


@dataclass
class VlmPlan:
    """Whether this run asks the vision endpoint, and what of it decides the cached results.

    Attributes:
        model: the vision endpoint and its key, or None when the detector is image analysis.
        unreachable: the one-line reason when the endpoint did not answer; the run then uses image analysis.
    """

    model: ModelAccess | None
    unreachable: str = ""
    outcomes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def endpoint(self) -> EndpointSettings | None:
        return self.model.endpoint if self.model is not None else None

    @property
    def active(self) -> bool:
        return self.endpoint is not None and not self.unreachable

    def identity(self, settings: ExtractSettings) -> dict[str, str]:
        """What, beside the extract settings, decides a document's result: the model and how it is read.

        A run that fell back to image analysis has its own identity, so its results are never taken for VLM results
        once the endpoint is back.
        """
        if self.endpoint is None:
            return {}
        if self.unreachable:
            return {"vlm": "unreachable: image analysis"}
        return {"vlm_model": self.endpoint.model, "vlm_format": box_format(settings, self.endpoint)}

    def check(self) -> None:
        """Ask the endpoint once whether it answers; on failure remember the one-line reason."""
        if self.model is None:
            return
        from remud_gen.llm.fleet import endpoint_reachable

        try:
            asyncio.run(endpoint_reachable(self.model.endpoint, self.model.api_key))
        except EndpointError as exc:
            self.unreachable = str(exc)

    def job(self, workers: int) -> VlmJob | None:
        """The endpoint handed to each of ``workers`` processes, each with its share of the concurrency."""
        if self.model is None or self.unreachable:
            return None
        share = max(1, self.model.endpoint.concurrency // max(1, workers))
        return VlmJob(self.model.to(self.model.endpoint.model_copy(update={"concurrency": share})))


def plan(settings: ExtractSettings, model: ModelAccess | None) -> VlmPlan:
    """The plan for ``settings.detector``; no request is made."""
    if settings.detector != "vlm":
        return VlmPlan(model=None)
    return VlmPlan(model=model or ModelAccess(EndpointSettings()))


def incomplete(outcome: dict[str, Any] | None) -> bool:
    """A cached document some of whose pages got no VLM boxes: extracted again on the next run."""
    return bool(outcome) and bool(outcome.get("failed_pages"))  # type: ignore[union-attr]


def summarise(vlm: VlmPlan, report: StageReport, documents: int) -> dict[str, Any]:
    """Fold the workers' outcomes into the report (usage, notes, stop) and return the counts for the manifest."""
    if vlm.endpoint is None:
        return {}
    if vlm.unreachable:
        report.stopped = "endpoint"
        report.stop_reason = f"vlm detector: {vlm.unreachable} ({documents} document(s) used image analysis instead)"
        return {"unreachable": vlm.unreachable}
    counts = CheckCounts()
    usage = Usage()
    pages = failed = sent = cached = 0
    errors: list[str] = []
    for o in vlm.outcomes:
        errors += [f"{o['doc']}: {e}" for e in o.get("errors", [])]
        counts.add(CheckCounts(**o["counts"]))
        usage = usage + Usage(**o["usage"])
        pages += o["pages"]
        failed += o["failed_pages"]
        sent += o["sent"]
        cached += o["from_journal"]
    report.usage = report.usage + usage
    if not pages:
        return {"pages": 0}
    summary = {k: v for k, v in vars(counts).items() if k != "iou_sum"}
    summary |= {"pages": pages, "failed_pages": failed, "http_attempts": sent, "from_journal": cached}
    summary["mean_match_iou"] = round(counts.iou_sum / counts.matched, 3) if counts.matched else None
    report.notes.append(
        f"vlm detector: {pages} scanned page(s), {counts.vlm_boxes} VLM box(es): {counts.matched} confirmed by image "
        f"analysis, {counts.split} split and {counts.grouped} grouped, {counts.vlm_only} VLM-only kept; "
        f"{counts.disagreements} disagreement(s) ({counts.conflict} conflicting, {counts.rejected} rejected, "
        f"{counts.analysis_only} seen by image analysis only)"
    )
    if failed and failed == pages:
        # Every page failed although the endpoint answered: a setup problem (model name, key, parameters).
        report.stopped = "endpoint"
        report.stop_reason = f"vlm detector: no page got boxes (first: {errors[0] if errors else '?'})"
    elif failed:
        report.notes.append(
            f"vlm detector: {failed} page(s) got no boxes and kept image analysis "
            f"(first: {errors[0] if errors else '?'}); run again to retry them"
        )
    return summary
