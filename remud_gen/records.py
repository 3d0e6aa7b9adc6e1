"""Typed records that flow between stages.

Every record carries provenance back to its source file, page and figure, so a dataset item can be traced to the
exact text and pixels it was generated from. Records are written one per line to JSONL files by `remud_gen.io`;
nothing else serialises them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from remud_gen.redact import redact

Language = Literal["zh", "en"]
Role = Literal["system", "user", "assistant"]
FigureSource = Literal["embedded", "detected", "vlm", "image-file"]
BBox = tuple[float, float, float, float]

REGIONS: tuple[str, ...] = (
    "breast",
    "thyroid",
    "liver",
    "biliary",
    "pancreas",
    "spleen",
    "kidney",
    "urinary",
    "gynaecology",
    "obstetrics",
    "heart",
    "vascular",
    "musculoskeletal",
    "superficial organs",
    "brain",
    "other",
)


class Record(BaseModel):
    """Base for all records: unknown fields are errors so a schema drift is caught at read time."""

    model_config = ConfigDict(extra="forbid")


class Document(Record):
    """One input document (a PDF, an image, or the page images of one book) as seen by extract."""

    doc: str = Field(description="source file name (no directory)")
    path: str = Field(description="absolute path the file was read from")
    sha256: str = Field(description="content hash of the file")
    kind: Literal["pdf", "image", "page-images"]
    pages: int
    scanned_pages: int = 0
    language: Language
    title: str | None = None
    figures: int = 0
    chunks: int = 0
    licence: str | None = Field(
        default=None, description="the licence or copyright statement the text carries, as extract found it"
    )


class Chunk(Record):
    """A section-aware piece of body text for text-only QA."""

    chunk_id: str = Field(description="stable id: <doc sha prefix>-c<index>")
    doc: str
    page_start: int = Field(description="1-based first page")
    page_end: int = Field(description="1-based last page")
    section: list[str] = Field(default_factory=list, description="heading path, outermost first")
    text: str
    language: Language
    figure_refs: list[str] = Field(default_factory=list, description="figure ids cited in the text")


class Figure(Record):
    """One figure panel: a crop, its caption, its own panel sentence and the text that cites it."""

    figure_key: str = Field(description="stable id: <doc sha prefix>-p<page>-<index>")
    doc: str
    page: int = Field(description="1-based page number")
    bbox: BBox = Field(description="[x0, y0, x1, y1] in PDF points, origin top left")
    page_size: tuple[float, float]
    image: str = Field(description="crop path relative to WORK (content-addressed)")
    page_image: str | None = Field(default=None, description="page render relative to WORK, when kept")
    figure_id: str | None = None
    panel: str | None = None
    caption: str = ""
    panel_caption: str = ""
    in_image_text: str = ""
    context: list[str] = Field(default_factory=list)
    section: list[str] = Field(default_factory=list)
    language: Language = "en"
    is_ultrasound: bool = False
    ultrasound_score: float = 0.0
    source: FigureSource = "embedded"
    width: int = 0
    height: int = 0


class Turn(Record):
    role: Role
    text: str


class SourceRef(Record):
    """Where a sample came from."""

    doc: str
    page: int
    chunk_id: str | None = None
    figure_key: str | None = None
    figure_id: str | None = None
    panel: str | None = None


class Generator(Record):
    model: str
    prompt_file: str
    prompt_sha256: str
    params: dict[str, float | int | str | bool | None] = Field(default_factory=dict)


class Usage(Record):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            cost=self.cost + other.cost,
        )


class Sample(Record):
    """One generated QA or VQA item, before filtering."""

    sample_id: str
    kind: str
    language: Language
    turns: list[Turn]
    thinking: str | None = None
    answer: str | None = None
    options: dict[str, str] | None = None
    images: list[str] = Field(default_factory=list, description="paths relative to WORK")
    region: str = "other"
    evidence: list[str] = Field(default_factory=list)
    outside_knowledge: list[str] = Field(default_factory=list)
    source: SourceRef
    generator: Generator
    usage: Usage = Field(default_factory=Usage)


class Failure(Record):
    """A unit of work that could not be completed, with enough detail to retry or debug it."""

    item: str
    stage: str
    error: str = Field(description="error class")
    message: str
    attempts: int = 1
    raw: str | None = None

    @field_validator("message", "raw")
    @classmethod
    def _no_secrets(cls, text: str | None) -> str | None:
        # a server's words (a 401 body quoting the key) are kept, never a secret the process holds
        return redact(text) if text else text


class StageWarning(Record):
    """A part of one input a stage could not use, worked around (a damaged page skipped, a duplicate file used once)."""

    item: str
    stage: str
    message: str


class JudgeScores(Record):
    faithfulness: int
    image_text_consistency: int | None = None
    medical_correctness: int
    reasoning_validity: int | None = None
    clarity: int
    rationale: str = ""
    blind_answer: str | None = None


class Verdict(Record):
    """A sample with the filter's decision and every reason behind it."""

    sample: Sample
    accepted: bool
    reasons: list[str] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list, description="concerns that did not reject the item")
    scores: JudgeScores | None = None
    weighted_score: float | None = None
