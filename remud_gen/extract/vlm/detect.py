"""One document's VLM pass: ask for boxes on its scanned pages, map them to points, cross-check, update the pages.

Runs inside the extract worker that handles the document (see the package docstring for why), between the first
pass over the pages (OCR and image analysis) and the whole-document analysis, which then sees each page's final
boxes and their source. A page whose request fails keeps its image-analysis boxes, with a warning.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymupdf

from remud_gen.errors import EndpointError
from remud_gen.extract.crops import png_bytes, render, to_array
from remud_gen.extract.model import BBox
from remud_gen.extract.pageimages import PageImages
from remud_gen.extract.pages import PageData
from remud_gen.extract.pagestore import PageStore
from remud_gen.extract.settings import ExtractSettings
from remud_gen.extract.vlm.answer import RawBox, parse_boxes
from remud_gen.extract.vlm.crosscheck import CheckCounts, CheckRules, cross_check
from remud_gen.extract.vlm.geometry import BoxFormat, model_frame, to_image
from remud_gen.extract.vlm.job import VlmJob, box_format
from remud_gen.io import write_bytes_atomic
from remud_gen.llm.client import Client, Result
from remud_gen.llm.journal import Journal
from remud_gen.llm.request import ChatRequest, Message
from remud_gen.llm.runner import run_requests
from remud_gen.prompts import PACKAGE_PROMPTS, ChatPrompt, read_yaml, sha256_of
from remud_gen.records import Usage

VLM_DIR = Path("extract") / "vlm"


@dataclass
class VlmOutcome:
    """What the VLM pass did for one document, for the stage report."""

    pages: int = 0
    failed_pages: int = 0
    counts: CheckCounts = field(default_factory=CheckCounts)
    usage: Usage = field(default_factory=Usage)
    sent: int = 0
    from_journal: int = 0
    unreachable: str = ""
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "failed_pages": self.failed_pages,
            "counts": vars(self.counts),
            "usage": self.usage.model_dump(),
            "sent": self.sent,
            "from_journal": self.from_journal,
            "unreachable": self.unreachable,
            "errors": self.errors[:3],
        }


@dataclass(frozen=True)
class _Ask:
    page: PageData
    image: Path
    size: tuple[int, int]  # image pixels
    scale: float  # image pixels per point


def detect_pages(
    doc: pymupdf.Document | PageImages,
    store: PageStore,
    job: VlmJob,
    settings: ExtractSettings,
    work: Path,
    key: str,
    warnings: list[str],
) -> VlmOutcome:
    """Replace the analysis boxes of every scanned page in ``store`` by the cross-checked boxes (in place).

    Args:
        doc: the open PDF.
        store: the first-pass pages; scanned ones get new `detected` boxes and `detected_sources`.
        job: the endpoint and key.
        settings: extract settings (dpi, `vlm` section).
        work: WORK.
        key: the document's name in WORK/extract/vlm (its content hash prefix).
        warnings: one line is added per page whose boxes could not be had.
    """
    scanned = [p for p in store.pages if p.scanned]
    outcome = VlmOutcome(pages=len(scanned))
    if not scanned:
        return outcome
    folder = work / VLM_DIR
    image_dir = folder / key
    fmt = box_format(settings, job.endpoint)
    budget = min(settings.max_render_pixels, job.endpoint.image_max_pixels)
    asks = [_render(doc[p.number - 1], p, image_dir, settings.dpi, budget) for p in scanned]
    requests = _requests(asks, store.language(settings.language), fmt, settings)
    results: dict[int, Result] = {}
    try:
        with Journal(folder / f"{key}.jsonl") as journal:
            outcome.usage, outcome.sent = asyncio.run(_run(job.model.client(journal), requests, results))
    except EndpointError as exc:
        outcome.unreachable = str(exc)
    finally:
        shutil.rmtree(image_dir, ignore_errors=True)  # requests are keyed by content: a re-render hits the journal
    rules = CheckRules(
        match_iou=settings.vlm.match_iou,
        min_side=settings.min_figure_px * 72 / settings.dpi,
        max_text_cover=settings.vlm.max_text_cover,
        keep_analysis_only=settings.vlm.keep_analysis_only,
    )
    for ask in asks:
        page = ask.page
        result = results.get(page.number)
        if result is None or not result.ok:
            why = outcome.unreachable or (f"{result.error}: {result.message}" if result else "not sent")
            line = f"page {page.number}: vlm detector gave no boxes ({why[:160]}); image analysis kept"
            warnings.append(line)
            outcome.errors.append(line)
            outcome.failed_pages += 1
            continue
        outcome.from_journal += result.cached
        frame = model_frame(
            ask.size,
            fmt,
            budget=job.endpoint.image_max_pixels,
            min_pixels=settings.vlm.min_pixels,
            max_pixels=settings.vlm.max_pixels,
        )
        vlm = [(_to_points(to_image(raw.box, frame, ask.size), ask.scale), raw.label) for raw in result.value]
        text = [line.bbox for block in store.blocks(page.number) for line in block.lines]
        regions, counts = cross_check(vlm, list(page.detected), text, page.size, rules)
        page.detected = [box for box, _ in regions]
        page.detected_sources = [source for _, source in regions]
        outcome.counts.add(counts)
    return outcome


def _render(page: pymupdf.Page, data: PageData, folder: Path, dpi: int, budget: int) -> _Ask:
    """The page as a PNG within the endpoint's pixel budget (so the client need not downscale it again)."""
    pix = render(page, None, dpi, budget)
    path = folder / f"p{data.number:04d}.png"
    write_bytes_atomic(path, png_bytes(to_array(pix)), durable=False)  # zlib level 1: half MuPDF's encode time
    return _Ask(page=data, image=path, size=(pix.width, pix.height), scale=pix.width / page.rect.width)


def _requests(asks: list[_Ask], language: str, fmt: BoxFormat, settings: ExtractSettings) -> list[ChatRequest]:
    prompt = ChatPrompt(PACKAGE_PROMPTS / f"detect.{language}.md")
    phrase = str(read_yaml(PACKAGE_PROMPTS / "detect_coordinates.yaml")[language][fmt])
    system, user = prompt.render(coordinates=phrase)
    version = sha256_of(prompt.text, phrase)
    return [
        ChatRequest(
            item=f"page {a.page.number}",
            messages=[Message("system", system), Message("user", user, (a.image,))],
            prompt_version=version,
            params={"temperature": 0.0, "max_tokens": settings.vlm.max_tokens},
            parse=parse_boxes,
            meta={"page": a.page.number},
        )
        for a in asks
    ]


async def _run(client: Client, requests: list[ChatRequest], results: dict[int, Result]) -> tuple[Usage, int]:
    def keep(result: Result, used: Usage) -> None:
        results[int(result.request.meta["page"])] = result

    try:
        stats = await run_requests(client, requests, keep, total=len(requests))
    finally:
        await client.aclose()
    return stats.usage, stats.sent


def _to_points(box: BBox, scale: float) -> BBox:
    return (box[0] / scale, box[1] / scale, box[2] / scale, box[3] / scale)


__all__ = ["VLM_DIR", "RawBox", "VlmOutcome", "detect_pages"]
