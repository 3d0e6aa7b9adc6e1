"""Scanned atlas pages in every form a user's file takes: the same panels, figure ids and letters in each.

The pages carry real ultrasound frames in a real atlas layout (see tests/atlas_scans.py): two columns of frames with
a centred letter in each gutter, title banners, legends, a figure running on from the foot of one column to the top
of the next and one running on over a page break. Each form (the book's own ~100 dpi JPEG pages in an image-only
PDF, re-encoded, upsampled, the page JPEGs themselves, 72-300 dpi, JPEG quality 60-95, blur and noise, a 2 degree
skew) goes through `remud-gen extract` in one run, as a user would give them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from atlas_scans import FORMS, Book, build_book, iou, master_pages, score, truth_box, write_form
from typer.testing import CliRunner

from remud_gen.cli import app


@pytest.fixture(scope="module")
def book(corpus: Path) -> Book:
    return build_book(corpus, seed=0)


@pytest.fixture(scope="module")
def by_form(book: Book, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Every form of the book extracted in one run: form name -> its figure records."""
    root = tmp_path_factory.mktemp("atlas_scans")
    masters = master_pages(book)
    docs: dict[str, str] = {}
    inputs: list[str] = []
    for name, form in FORMS.items():
        images = name.startswith("jpg")
        paths = write_form(book, masters, form, root / "in" / name.replace("+", "p"), as_images=images)
        inputs += [str(p) for p in paths]
        docs[f"page_001-{len(paths):03d}.jpg" if images else paths[0].name] = name
    result = CliRunner().invoke(app, ["extract", *inputs, "-o", str(root / "work"), "--workers", "2"])
    assert result.exit_code == 0, result.output
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in FORMS}
    for line in (root / "work" / "extract" / "figures.jsonl").read_text().splitlines():
        figure = json.loads(line)
        out[docs[figure["doc"]]].append(figure)
    return out


@pytest.mark.parametrize("name", list(FORMS))
def test_every_panel_is_found_with_its_figure_id_and_letter(name: str, book: Book, by_form: dict[str, Any]) -> None:
    result = score(by_form[name], book, FORMS[name])
    assert result.found == result.panels == 22, result.misses
    assert result.named == 22, result.misses
    assert result.extra == 0
    assert min(result.ious) >= 0.9, f"loosest panel box: IoU {min(result.ious):.3f}"


def test_every_form_gives_the_same_boxes_and_names(book: Book, by_form: dict[str, list[dict[str, Any]]]) -> None:
    """Form by form against the plain PDF form: a panel keeps its box (IoU >= 0.9 once skew is taken out of the
    truth) and its name, so a re-encode, a rescan or a rotation never flips the result."""
    reference = by_form["pdf100"]
    for name, figures in by_form.items():
        for panel in book.panels:
            want = truth_box(panel, FORMS[name])
            here = _nearest(figures, panel.page, want)
            there = _nearest(reference, panel.page, truth_box(panel, FORMS["pdf100"]))
            assert (here["figure_id"], here["panel"]) == (there["figure_id"], there["panel"]), name
            assert iou(_fraction(here), want) >= 0.9, (name, panel)


def _fraction(figure: dict[str, Any]) -> tuple[float, float, float, float]:
    w, h = figure["page_size"]
    x0, y0, x1, y1 = figure["bbox"]
    return (x0 / w, y0 / h, x1 / w, y1 / h)


def _nearest(figures: list[dict[str, Any]], page: int, box: tuple[float, ...]) -> dict[str, Any]:
    return max((f for f in figures if f["page"] == page), key=lambda f: iou(_fraction(f), box))
