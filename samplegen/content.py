"""What goes on the sample pages, independent of where it is placed: figures, panels and their pictures.

A `FrameSpec` says which picture a panel shows; `frames.py` turns it into image bytes (synthetic, or a real frame
given by the caller). Panel sentences may contain "{dist}", filled with the caliper reading burnt into that
panel's frame, so caption and pixels agree the way they do in a real atlas.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from samplegen.anatomy import Lesion, Organ
from samplegen.probe import Mode


@dataclass(frozen=True)
class FrameSpec:
    """The picture of one panel: an ultrasound frame, or a non-ultrasound diagram or photo."""

    kind: str = "ultrasound"
    organ: Organ = "kidney"
    mode: Mode = "sector"
    lesion: Lesion = "none"
    doppler: bool = False
    labels: tuple[str, ...] | None = None
    diagram: str | None = None


@dataclass(frozen=True)
class Panel:
    """One lettered panel: its legend sentence (with its "A图为" / "(a)" marker) and its picture."""

    sentence: str
    frame: FrameSpec


@dataclass(frozen=True)
class AtlasFigure:
    """An atlas figure: a heading bar "16-2-1 肾脏增大", lettered panels and a legend "图解要点：...".

    Args:
        fig_id: The number printed in the bar.
        title: The words after the number.
        panels: Two to four panels, in letter order.
    """

    fig_id: str
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class ClassicFigure:
    """A single picture with a caption line "图 3-2 肝囊肿声像图" (optionally a legend line) below it."""

    fig_id: str
    title: str
    frame: FrameSpec
    legend: str = ""


@dataclass(frozen=True)
class ZhBook:
    """The text of a four-page Chinese atlas excerpt (see `atlas_zh` for where each part goes)."""

    title: str
    chapter: str
    section: str
    folios: tuple[str, str, str, str]
    sub1: str
    p1_before: tuple[str, ...]
    fig1: AtlasFigure
    p1_after: tuple[str, ...]
    sub2: str
    p2_left: tuple[str, ...]
    fig2: AtlasFigure
    p2_right: tuple[str, ...]
    sub3: str
    p3_before: tuple[str, ...]
    fig3: AtlasFigure
    p3_after: tuple[str, ...]
    fig3b: ClassicFigure
    chapter4: str
    section4: str
    sub4: str
    p4_before: tuple[str, ...]
    fig4: ClassicFigure
    sub4b: str
    p4_after: tuple[str, ...] = field(default_factory=tuple)
