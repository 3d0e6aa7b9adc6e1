"""The corpus's born-digital papers rendered as image-only 150 dpi JPEG scans: their born-digital truth is the answer.

tests/truth/en_papers.json holds the hand-checked panels of the born-digital files (boxes in points). Rendered as a
scan, a page keeps its size in points, so the same boxes, ids, letters and modalities are expected from the scanned
path: charts and diagrams on white paper (a layout model's blocks, split at their gutters), frames (image
analysis), captions and legends read by OCR. The pages with figures are taken one per file to keep OCR time down.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pymupdf
import pytest
from PIL import Image
from typer.testing import CliRunner

from remud_gen.cli import app

TRUTH = json.loads((Path(__file__).parent / "truth" / "en_papers.json").read_text(encoding="utf-8"))["figures"]
# A page of every kind: a 6-frame grid, a diagram with a chart pair, a row of five matrices, a grey diagram, two
# lung frames, frames inside plots, a text-box diagram, a 4-panel figure of charts and frames; and a first page with
# the journal's logos and no figure.
PAGES = [
    ("boice2022_JImaging_US_panels_ccby.pdf", 1),
    ("boice2022_JImaging_US_panels_ccby.pdf", 4),
    ("boice2022_JImaging_US_panels_ccby.pdf", 7),
    ("boice2022_JImaging_US_panels_ccby.pdf", 9),
    ("day2020_PrenatDiagn_diagrams_ccby.pdf", 4),
    ("kerdegari2021_ApplSci_lungUS_ccby.pdf", 2),
    ("kerdegari2021_ApplSci_lungUS_ccby.pdf", 10),
    ("snider2022_SciRep_US_ccby.pdf", 3),
    ("snider2022_SciRep_US_ccby.pdf", 9),
]


def _scan(source: Path, page: int, out: Path) -> Path:
    """One page as an image-only PDF: a 150 dpi JPEG (quality 85) on a page of the original size."""
    with pymupdf.open(source) as doc, pymupdf.open() as scan:
        original = doc[page - 1]
        pix = original.get_pixmap(dpi=150, colorspace=pymupdf.csRGB, alpha=False)
        data = io.BytesIO()
        Image.frombytes("RGB", (pix.width, pix.height), pix.samples).save(data, "JPEG", quality=85)
        new = scan.new_page(width=original.rect.width, height=original.rect.height)
        new.insert_image(new.rect, stream=data.getvalue())
        scan.save(out)
    return out


@pytest.fixture(scope="module")
def scanned(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """(paper, page) -> the figure records extract gives for that page's scan."""
    root = tmp_path_factory.mktemp("papers_scanned")
    (root / "in").mkdir()
    names = {}
    for name, page in PAGES:
        path = _scan(corpus / "en_papers" / name, page, root / "in" / f"{Path(name).stem}_p{page}.pdf")
        names[path.name] = (name, page)
    result = CliRunner().invoke(app, ["extract", str(root / "in"), "-o", str(root / "work"), "--workers", "2"])
    assert result.exit_code == 0, result.output
    out: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for line in (root / "work" / "extract" / "figures.jsonl").read_text(encoding="utf-8").splitlines():
        figure = json.loads(line)
        out[names[figure["doc"]]].append(figure)
    return out


def _iou(a: list[float], b: list[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
    return ix * iy / union if union else 0.0


def test_scanned_papers_give_the_born_digital_panels(scanned: dict[tuple[str, int], list[dict[str, Any]]]) -> None:
    """Every truth panel of the chosen pages: boxed at IoU >= 0.7 with its figure id, letter and modality.

    24 panels in 10 figures; at most 2 may be wrong, and a figure counts as right only when all its panels are."""
    wrong: list[str] = []
    figures: dict[tuple[str, str], bool] = {}
    for truth in (t for t in TRUTH if (t["doc"], t["page"]) in PAGES):
        found = scanned.get((truth["doc"], truth["page"]), [])
        best = max(found, key=lambda f: _iou(f["bbox"], truth["bbox"]), default=None)
        ok = (
            best is not None
            and _iou(best["bbox"], truth["bbox"]) >= 0.7
            and (best["figure_id"], best["panel"]) == (truth["figure_id"], truth["panel"])
            and truth["is_ultrasound"] in (None, best["is_ultrasound"])
        )
        key = (truth["doc"], truth["figure_id"])
        figures[key] = figures.get(key, True) and ok
        if not ok:
            got = best and (round(_iou(best["bbox"], truth["bbox"]), 2), best["figure_id"], best["panel"])
            wrong.append(f"{truth['doc'][:12]} p{truth['page']} {truth['figure_id']}{truth['panel'] or ''}: got {got}")
    assert len(wrong) <= 2, "\n".join(wrong)
    assert sum(figures.values()) >= len(figures) - 1, figures


def test_scanned_papers_give_nothing_else(scanned: dict[tuple[str, int], list[dict[str, Any]]]) -> None:
    """No figure where the born-digital file has none: not the journal logos of page 1, not a caption or a table."""
    extra = [
        f"{doc[:12]} p{page} {f['figure_id']} {[round(v) for v in f['bbox']]}"
        for (doc, page), found in scanned.items()
        for f in found
        if not any(t["doc"] == doc and t["page"] == page and _iou(f["bbox"], t["bbox"]) >= 0.5 for t in TRUTH)
    ]
    assert not extra, extra
