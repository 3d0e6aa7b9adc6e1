"""Ground truth of the sample documents: every figure panel, every caption look-alike, every page's furniture.

Written as one JSON file beside the PDFs so a test (or a person) can score an extractor against it. Boxes are
[x0, y0, x1, y1] in PDF points with the origin at the top left of the page (PyMuPDF page coordinates); for an
image-only copy made by `rasterize_pdf` the same boxes hold, since the page size is kept.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Kind = Literal["ultrasound", "diagram", "photo", "logo"]
KINDS: tuple[str, ...] = ("ultrasound", "diagram", "photo", "logo")


@dataclass
class PanelTruth:
    """One figure panel (or a lone image) as printed.

    `caption` is the figure's title and legend as printed, title first, joined by a newline (line wraps inside a
    paragraph are not kept). `panel_caption` is this panel's own sentence from the legend without its closing
    punctuation ("" when the legend has none). For a multi-panel figure stored as ONE raster there is one record
    per panel, each with its sub-box, and `image_bbox` is the whole raster.
    """

    doc: str
    page: int
    bbox: list[float]
    figure_id: str | None
    panel: str | None
    caption: str
    panel_caption: str
    in_image_text: list[str]
    is_ultrasound: bool
    kind: str
    section: list[str] = field(default_factory=list)
    image_bbox: list[float] | None = None
    language: str = "en"


@dataclass
class Decoy:
    """A body line that starts like a caption ("Figure 1). ...", "(Figure 2) ...", "图16-2-1中...") but is not one."""

    doc: str
    page: int
    text: str
    bbox: list[float]


@dataclass
class PageTruth:
    """Running header and footer strings of one page (what a header/footer filter must drop)."""

    doc: str
    page: int
    header: list[str]
    footer: list[str]


@dataclass
class Citation:
    """A body paragraph that cites a figure (the context an extractor should attach to it)."""

    doc: str
    page: int
    figure_id: str
    text: str


@dataclass
class SampleSet:
    """The written PDFs, the truth file beside them and the truth itself."""

    pdfs: list[Path]
    truth: Path
    panels: list[PanelTruth] = field(default_factory=list)
    decoys: list[Decoy] = field(default_factory=list)
    pages: list[PageTruth] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    seed: int = 0

    def for_doc(self, doc: str) -> list[PanelTruth]:
        """Panels of one document (by file name), in page order."""
        return [p for p in self.panels if p.doc == doc]

    def figures(self, doc: str | None = None) -> list[PanelTruth]:
        """Panels that belong to a numbered or captioned figure (logos left out)."""
        return [p for p in self.panels if p.kind != "logo" and (doc is None or p.doc == doc)]


def to_json(sample: SampleSet) -> dict[str, Any]:
    return {
        "seed": sample.seed,
        "pdfs": [p.name for p in sample.pdfs],
        "panels": [asdict(p) for p in sample.panels],
        "decoys": [asdict(d) for d in sample.decoys],
        "pages": [asdict(p) for p in sample.pages],
        "citations": [asdict(c) for c in sample.citations],
    }


def write_truth(sample: SampleSet) -> None:
    """Write `sample.truth` (UTF-8 JSON, CJK kept readable)."""
    sample.truth.write_text(json.dumps(to_json(sample), ensure_ascii=False, indent=1), encoding="utf-8")


def load_truth(path: Path) -> SampleSet:
    """Read a truth file written by `write_truth`; the PDFs are looked up beside it.

    Raises:
        ValueError: If the file is not a truth file (missing keys or wrong types).
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return SampleSet(
            pdfs=[path.parent / name for name in data["pdfs"]],
            truth=path,
            panels=[PanelTruth(**p) for p in data["panels"]],
            decoys=[Decoy(**d) for d in data["decoys"]],
            pages=[PageTruth(**p) for p in data["pages"]],
            citations=[Citation(**c) for c in data["citations"]],
            seed=int(data["seed"]),
        )
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a sample truth file ({exc})") from exc
