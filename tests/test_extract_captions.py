"""Caption, panel-letter, legend and citation parsing: one table per rule, positives and negatives side by side."""

from __future__ import annotations

import pytest

from remud_gen.extract.captions import (
    caption_panels,
    cited_figures,
    is_legend,
    lowercase_panels,
    panel_label,
    panel_sentences,
    parse_atlas_heading,
    parse_caption,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Figure 3. Longitudinal view", ("figure", "3", None)),
        ("Fig. 2b Lung sliding", ("figure", "2", "B")),
        ("FIGURE 1 Overview of the study", ("figure", "1", None)),
        ("Figure\u00a01.\u2002 \u2009Overview of the framework", ("figure", "1", None)),
        ("Fig.\u202f1\u2002 Application of AI", ("figure", "1", None)),
        ("F I G U R E 2\nHow fetal echocardiogram data", ("figure", "2", None)),
        ("FIGURE 3 | Colour Doppler image", ("figure", "3", None)),
        ("Figure 4: Schematic", ("figure", "4", None)),
        ("Figure 12", ("figure", "12", None)),
        ("Table 2. Summary of results", ("table", "2", None)),
        ("Fig.6aEchogeniccalculus in the sinus", ("figure", "6", "A")),  # OCR without spaces
        ("Fig.2Simplerenalcyst.(a)Longitudinal", ("figure", "2", None)),
        ("Figure5.Patientpositioning", ("figure", "5", None)),
        ("图 3-2 肝脏声像图", ("figure", "3-2", None)),
        ("图3－2A 肾囊肿", ("figure", "3-2", "A")),
        ("图16-2-1", ("figure", "16-2-1", None)),
        ("图5一12 肾动脉狭窄", ("figure", "5-12", None)),  # OCR reads the dash as 一
        ("图 5.1：胆囊结石", ("figure", "5.1", None)),
        ("表 3-1 超声分级", ("table", "3-1", None)),
        ("图16-2-4肾脏解剖示意图 1.肾皮质；2.肾锥体", ("figure", "16-2-4", None)),  # OCR: no space, legend joined
        # Not captions: in-sentence or line-start references.
        ("Figure 1). The phantom was", None),
        ("Figure 2 shows the results of", None),
        ("Figure 1, right panel, shows", None),
        ("Figures 2 and 3 show", None),
        ("Table 3 shows the classification", None),
        ("图3-2显示肝脏增大", None),
        ("图16-2-1中可见", None),
        ("图3肝脏内可见低回声结节，边界清晰。 另见", None),
        ("(Figure 2) shows", None),
        ("As shown in Figure 2.", None),
        ("Configuration file", None),
    ],
)
def test_parse_caption(text: str, expected: tuple[str, str, str | None] | None) -> None:
    got = parse_caption(text)
    assert (None if got is None else (got.kind, got.figure_id, got.sub)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("16-2-1 肾脏增大", ("16-2-1", "肾脏增大")),
        ("16一2一1 肾脏增大", ("16-2-1", "肾脏增大")),
        ("3-2 Renal cyst", ("3-2", "Renal cyst")),
        ("2020-2021 were the years", None),
        ("16-2-1", None),
        ("肾脏增大 16-2-1", None),
        ("1-2 3-4 5", None),
    ],
)
def test_atlas_heading(text: str, expected: tuple[str, str] | None) -> None:
    assert parse_atlas_heading(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("A", "A"), ("b", "B"), ("(C)", "C"), ("（D）", "D"), ("E.", "E"), ("AB", None), ("A1", None), ("Z", None)],
)
def test_panel_label(text: str, expected: str | None) -> None:
    assert panel_label(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Figure 1. Baseline (A) and shrapnel of 2 mm (B), 4 mm (C).", ["A", "B", "C"]),
        ("(A–C) Training loss for (A) none, (B) 5% and (C) 10%. (D, E) Summary.", ["A", "B", "C", "D", "E"]),
        ("图解要点：A图为肾脏长轴切面；B图为CDFI；C图示肾盂分离。", ["A", "B", "C"]),
        ("Fig. 2 Cyst. (a) Longitudinal. (b) Transverse.", ["A", "B"]),
        ("Figure 5. Accuracy (n = 33) and (Left) healthy lung.", []),
        ("A, transverse view; B, longitudinal view.", ["A", "B"]),
    ],
)
def test_caption_panels(text: str, expected: list[str]) -> None:
    assert caption_panels(text) == expected


def test_panel_sentences_split_chinese_legend() -> None:
    got = panel_sentences("图解要点：A图为左肾长轴切面，肾脏增大；B图为CDFI显示血流丰富；C图示肾盂分离。")
    assert got == {"A": "A图为左肾长轴切面，肾脏增大", "B": "B图为CDFI显示血流丰富", "C": "C图示肾盂分离。"}


def test_panel_sentences_of_sub_figure_captions() -> None:
    got = panel_sentences("Fig. 6a Echogenic calculus.\nFig. 6b Twinkling artefact.")
    assert got == {"A": "Fig. 6a Echogenic calculus.", "B": "Fig. 6b Twinkling artefact."}


def test_panel_sentences_split_english_legend_with_ranges() -> None:
    got = panel_sentences(
        "Figure 2. Effect of augmentation. (A–C) Loss plots for (A) no augmentation, (B) 5% and (C) 10%. "
        "(D) Summary table. Green marks the selected model."
    )
    assert got["A"].startswith("(A–C) Loss plots for") and "(A) no augmentation" in got["A"]
    assert "(B) 5%" in got["B"] and "(C) 10%." in got["C"]
    assert got["D"] == "(D) Summary table."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("as shown in Figure 2, the lesion", ["2"]),
        ("B-lines were visible (Fig. 6B,C).", ["6"]),
        ("see Figs. 2–4 for details", ["2", "3", "4"]),
        ("Figures 2 and 5 show", ["2", "5"]),
        ("典型声像图见图3-2。", ["3-2"]),
        ("如图16-2-1所示，肾脏增大", ["16-2-1"]),
        ("彩超（图 3－2）", ["3-2"]),
        ("no figure here, configure it", []),
    ],
)
def test_cited_figures(text: str, expected: list[str]) -> None:
    assert cited_figures(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("图解要点：A图为…", True), ("图注：箭头示结石", True), ("图像显示", False), ("Figure 1. A", False)],
)
def test_is_legend(text: str, expected: bool) -> None:
    assert is_legend(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Fig. 2 (a) one (b) two", True), ("Figure 1 (A) one (B) two", False), ("Figure 3 no panels", False)],
)
def test_lowercase_panels(text: str, expected: bool) -> None:
    assert lowercase_panels(text) is expected
