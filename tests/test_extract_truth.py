"""Extract scored against ground truth: hand-checked journal papers and the generated atlas sample.

Targets (issue 3): >= 95% of figure panels found at IoU >= 0.8, >= 95% with the right figure id and panel, and no
non-figure or non-ultrasound figure reported as ultrasound.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pymupdf
import pytest

from remud_gen.extract import ExtractSettings, process_file
from remud_gen.extract.model import iou
from remud_gen.records import Figure

ROOT = Path(__file__).resolve().parents[1]
PAPERS = ROOT.parent / "shared" / "corpus" / "en_papers"
TRUTH = ROOT / "tests" / "truth" / "en_papers.json"


def score(truth: list[dict[str, Any]], found: dict[str, list[Figure]]) -> dict[str, Any]:
    """Recall at IoU 0.8, id+panel accuracy, ultrasound false positives, and the misses for the message."""
    hits = right = us_fp = 0
    misses: list[str] = []
    for t in truth:
        cands = [f for f in found.get(t["doc"], []) if f.page == t["page"]]
        best = max(cands, key=lambda f: iou(f.bbox, tuple(t["bbox"])), default=None)
        if best is None or iou(best.bbox, tuple(t["bbox"])) < 0.8:
            misses.append(f"box {t['doc']} p{t['page']} fig {t['figure_id']}{t['panel'] or ''}")
            continue
        hits += 1
        if best.figure_id == t["figure_id"] and best.panel == t["panel"]:
            right += 1
        else:
            misses.append(f"id {t['doc']} p{t['page']} {t['figure_id']}/{t['panel']} got {best.figure_id}/{best.panel}")
        if t["is_ultrasound"] is False and best.is_ultrasound:
            us_fp += 1
            misses.append(f"ultrasound fp {t['doc']} p{t['page']} fig {t['figure_id']}")
    for doc, figs in found.items():
        for f in figs:
            matched = any(
                t["doc"] == doc and t["page"] == f.page and iou(f.bbox, tuple(t["bbox"])) >= 0.5 for t in truth
            )
            if not matched and f.is_ultrasound:
                us_fp += 1
                misses.append(f"non-figure reported as ultrasound {doc} p{f.page} {f.bbox}")
    n = max(len(truth), 1)
    return {"recall": hits / n, "id_panel": right / n, "us_fp": us_fp, "misses": misses}


def check_targets(result: dict[str, Any]) -> None:
    detail = "\n".join(result["misses"])
    assert result["recall"] >= 0.95, detail
    assert result["id_panel"] >= 0.95, detail
    assert result["us_fp"] == 0, detail


@pytest.mark.skipif(not PAPERS.is_dir(), reason="../shared/corpus/en_papers is not present")
def test_en_papers_against_hand_checked_truth(tmp_path: Path) -> None:
    truth = json.loads(TRUTH.read_text(encoding="utf-8"))["figures"]
    found = {}
    for pdf in sorted(PAPERS.glob("*.pdf")):
        result = process_file(pdf, tmp_path, ExtractSettings())
        found[pdf.name] = result.figures
        assert result.warnings == []
    check_targets(score(truth, found))
    # The multi-panel ultrasound grid (one raster) is split and every panel gets its own legend sentence.
    boice = [f for f in found["boice2022_JImaging_US_panels_ccby.pdf"] if f.figure_id == "1"]
    assert [f.panel for f in boice] == list("ABCDEF")
    assert all(f.is_ultrasound and f.panel_caption.startswith(f"({f.panel})") for f in boice)
    assert all(f.context for f in boice), "the paragraph citing Figure 1 is the panels' context"


@pytest.mark.skipif(not PAPERS.is_dir(), reason="../shared/corpus/en_papers is not present")
def test_in_text_reference_at_line_start_is_not_a_caption(tmp_path: Path) -> None:
    result = process_file(PAPERS / "boice2022_JImaging_US_panels_ccby.pdf", tmp_path, ExtractSettings())
    captions = {f.figure_id: f.caption for f in result.figures}
    assert set(captions) == {"1", "2", "3", "4"}
    assert all(c.startswith(f"Figure {k}.") for k, c in captions.items())


def _sample() -> Any:
    return pytest.importorskip("samplegen", reason="samplegen (generated atlas) not available yet")


def test_generated_atlas_against_its_truth(tmp_path: Path) -> None:
    sample = _sample().write_sample(tmp_path / "sample")
    truth = [asdict(p) for p in sample.figures()]
    found = {}
    for pdf in sample.pdfs:
        found[pdf.name] = process_file(pdf, tmp_path, ExtractSettings()).figures
    check_targets(score(truth, found))
    by_key = {(f.doc, f.figure_id, f.panel): f for figs in found.values() for f in figs}
    for t in truth:
        got = by_key.get((t["doc"], t["figure_id"], t["panel"]))
        assert got is not None
        assert got.is_ultrasound == t["is_ultrasound"], (t["figure_id"], t["panel"])
        if t["panel_caption"]:
            assert t["panel_caption"] in got.panel_caption, (t["figure_id"], t["panel"], got.panel_caption)


def test_born_digital_atlas_with_reused_frames_against_its_truth(tmp_path: Path, corpus: Path) -> None:
    """Six real BUSI frames reused across the pages are figures each time; only the logo is page furniture."""
    frames = sorted((corpus / "ultrasound_images").glob("busi_*.png"))[:6]
    sample = _sample().atlas_with_frames(frames, tmp_path / "frames", seed=0)
    truth = [asdict(p) for p in sample.figures()]
    found = {pdf.name: process_file(pdf, tmp_path, ExtractSettings()).figures for pdf in sample.pdfs}
    check_targets(score(truth, found))


# Pages of the image-only copies scored with OCR on (OCR costs seconds a page, so one page of each kind):
SCANNED_PAGES = {
    "atlas_zh.pdf": (3,),  # two frames (one Doppler) with lone letters under a heading bar, a labelled colour diagram
    "atlas_en.pdf": (3, 4),  # labelled colour schematic beside a Doppler frame; "Fig. 6a/6b" captions and a photo
    "atlas_frames_zh.pdf": (1, 3),  # 2x2 BUSI frames spread wide under one heading bar; BUSI frames and a flowchart
}


def _inked(pdf: Path, panel: dict[str, Any]) -> dict[str, Any]:
    """The truth box trimmed to its ink: on an image-only page a picture's white margin is just paper."""
    with pymupdf.open(pdf) as doc:
        clip = pymupdf.Rect(panel["bbox"])
        pix = doc[panel["page"] - 1].get_pixmap(dpi=144, clip=clip, colorspace=pymupdf.csRGB, alpha=False)
    pixels = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, 3)
    ink = (255 - pixels.astype(np.int16)).max(axis=2) > 40
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    step = clip.width / pix.width
    box = [
        clip.x0 + cols[0] * step,
        clip.y0 + rows[0] * step,
        clip.x0 + (cols[-1] + 1) * step,
        clip.y0 + (rows[-1] + 1) * step,
    ]
    return {**panel, "bbox": box}


def _pages(src: Path, pages: tuple[int, ...], dst: Path) -> Path:
    with pymupdf.open(src) as doc, pymupdf.open() as out:
        for number in pages:
            out.insert_pdf(doc, from_page=number - 1, to_page=number - 1)
        out.save(dst)
    return dst


@pytest.fixture(scope="module")
def scanned_atlas(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> tuple[list[dict[str, Any]], Any]:
    """Truth and extract results (OCR on) for chosen pages of image-only copies of the generated atlases: the
    synthetic one and the one built around real BUSI frames."""
    sample = _sample()
    rasterize = pytest.importorskip("samplegen.rasterize", reason="samplegen not available yet")
    root = tmp_path_factory.mktemp("scanned_atlas")
    frames = sorted((corpus / "ultrasound_images").glob("busi_*.png"))
    if not frames:
        pytest.skip("no BUSI frames in the corpus")
    sets = [sample.write_sample(root / "sample"), sample.atlas_with_frames(frames, root / "frames", seed=0)]
    truth: list[dict[str, Any]] = []
    results = {}
    for pdf in (pdf for s in sets for pdf in s.pdfs):
        pages = SCANNED_PAGES[pdf.name]
        copy = _pages(rasterize.rasterize_pdf(pdf, root / f"scan_{pdf.name}"), pages, root / pdf.name)
        results[pdf.name] = process_file(copy, root / "work", ExtractSettings(ocr="on"))
        panels = [asdict(p) for s in sets for p in s.figures(pdf.name) if p.page in pages]
        truth += [{**_inked(pdf, p), "page": pages.index(p["page"]) + 1} for p in panels]
    return truth, results


def test_generated_atlas_image_only_copy_meets_the_targets(scanned_atlas: tuple[list[dict[str, Any]], Any]) -> None:
    """The scanned path on real pixels with OCR: boxes from page analysis, ids and panel letters from OCR text."""
    truth, results = scanned_atlas
    assert all(r.document.scanned_pages == r.document.pages for r in results.values())
    check_targets(score(truth, {doc: r.figures for doc, r in results.items()}))


def test_scanned_atlas_legends_are_split_per_panel(scanned_atlas: tuple[list[dict[str, Any]], Any]) -> None:
    """Atlas figures: the id comes from the heading bar, each panel gets its own sentence of the legend."""
    _truth, results = scanned_atlas
    panels = {(f.figure_id, f.panel): f for f in results["atlas_frames_zh.pdf"].figures}
    assert {("12-3-1", letter) for letter in "ABCD"} <= set(panels)
    for letter in "ABCD":
        assert panels["12-3-1", letter].panel_caption.startswith(f"{letter}图"), panels["12-3-1", letter]


def test_reopening_a_long_book_midway_loses_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """extract reopens the PDF every so many pages to free MuPDF's object cache; the figures must not change."""
    import pymupdf

    from remud_gen.extract import pdf as pdf_module

    sample = _sample().write_sample(tmp_path / "sample")
    book = tmp_path / "book.pdf"
    with pymupdf.open() as out:
        while out.page_count < 60:
            for src in sample.pdfs:
                with pymupdf.open(src) as doc:
                    out.insert_pdf(doc)
        out.save(book)
    settings = ExtractSettings(repeated_image_pages=10_000, repeated_image_fraction=1.0)

    def figures(reopen_every: int) -> list[tuple[int, str | None, str | None, tuple[int, ...], str]]:
        monkeypatch.setattr(pdf_module, "REOPEN_EVERY", reopen_every)
        found = process_file(book, tmp_path / f"w{reopen_every}", settings).figures
        return [(f.page, f.figure_id, f.panel, tuple(round(v) for v in f.bbox), f.image) for f in found]

    assert figures(pdf_module.SHRINK_EVERY) == figures(10**9)
