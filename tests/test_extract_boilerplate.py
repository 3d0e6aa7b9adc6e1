"""Reference lists, licences, contents pages and bare tables stay out of the text chunks; content stays in."""

from __future__ import annotations

from pathlib import Path

import pytest

from remud_gen.extract import ExtractSettings, process_file
from remud_gen.extract.boilerplate import apparatus_reason, content_paragraphs, strip_boilerplate
from remud_gen.extract.chunks import Para

BODY_EN = (
    "Chen et al. [14] proposed a residual attention U-Net for the segmentation of lung lesions, and Wang et al. [15] "
    "used it on ultrasound. Roy et al. [16] then predicted COVID-19 artefacts; Kulhare et al. [19] used a single-shot "
    "detector. B-lines are hyperechoic vertical artefacts that arise from the pleural line."
)
REFS_EN = (
    "4. Stümpflen I, Stümpflen A, Wimmer M. Effect of detailed fetal echocardiography. Lancet. 1996;348(9031):854-857. "
    "5. Quartermain MD, Pasquali SK, Hill KD. Variation in prenatal diagnosis. Pediatrics. 2015;136(2):e378-e385. "
    "https://doi.org/10.1542/peds.2014-3783 6. Tegnander E, Williams W. Prenatal detection of heart defects. "
    "Ultrasound Obstet Gynecol. 2006;27(3):252-265."
)
REFS_ZH = (
    "[1] 张三, 李四. 甲状腺结节的超声诊断[J]. 中华超声影像学杂志, 2019, 28(3): 201-205. "
    "[2] 王五. 腹部超声[M]. 北京: 人民卫生出版社, 2018, 12: 33. [3] 赵六. 肝脏[J]. 中国超声医学杂志, 2020, 36(1): 1-4."
)
TOC_ZH = "第一章 肝脏……………1 第二章 胆囊……………23 第三章 胰腺……………41 第四章 脾脏……………58"
TABLE = "Model Feature Iteration 33 Iteration 83 FC Nodes 252 214 CNN Nodes 32 5 Dropout Rate 31.2% 36.4% 0.48 0.51"
BODY_ZH = "肝脏位于右上腹，超声表现为均匀的中等回声。正常肝右叶最大斜径不超过14 cm，门静脉主干内径约1.0–1.2 cm。"


@pytest.mark.parametrize(
    ("text", "section", "reason"),
    [
        (BODY_EN, ["2. Related Work"], None),
        (BODY_ZH, ["第一章 肝脏"], None),
        ("The authors declare no conflict of interest.", ["Conflicts of Interest"], "back matter"),
        ("Tuiskunen Bäck, A. Dengue viruses. 2013.", ["6. Discussion", "References"], "back matter"),
        ("本研究得到国家自然科学基金资助。", ["致谢"], "back matter"),
        ("Funding: This research was funded by the Wellcome Trust.", ["5. Conclusions"], "back matter"),
        ("Data Availability Statement: The data are available on request.", ["5. Conclusions"], "back matter"),
        (REFS_EN, ["CONFLICT OF INTERESTS"], "back matter"),
        (REFS_EN, ["THE FUTURE"], "references"),
        (REFS_ZH, ["第五章"], "references"),
        (TOC_ZH, [], "contents"),
        (TABLE, ["3. Results"], "table"),
        ("A section that merely mentions references to prior work.", ["Referencing style"], None),
    ],
)
def test_apparatus_reason(text: str, section: list[str], reason: str | None) -> None:
    assert apparatus_reason(Para(text, 1, section)) == reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (BODY_EN, BODY_EN),
        (
            "Copyright: © 2022 by the authors. Licensee MDPI. Lung ultrasound is a fast, portable technique.",
            "Lung ultrasound is a fast, portable technique.",
        ),
        (
            "ShrapML is an image classification model trained J. Imaging 2022, 8, 140. "
            "https://doi.org/10.3390/jimaging8050140 on ultrasound images.",
            "ShrapML is an image classification model trained on ultrasound images.",
        ),
        ("版权所有，侵权必究。肝脏回声均匀。", "肝脏回声均匀。"),
    ],
)
def test_strip_boilerplate(text: str, expected: str) -> None:
    assert strip_boilerplate(text) == expected


def test_paragraph_of_licence_only_is_dropped_and_others_are_kept_in_order() -> None:
    paras = [
        Para(BODY_ZH, 1, ["第一章"]),
        Para("Open Access This article is licensed under a Creative Commons Attribution 4.0 License.", 1, []),
        Para(BODY_EN, 2, ["1. Introduction"]),
    ]
    assert [p.text for p in content_paragraphs(paras)] == [BODY_ZH, BODY_EN]


def test_en_papers_chunks_hold_no_reference_lists_or_licences(corpus: Path, tmp_path: Path) -> None:
    pdf = corpus / "en_papers" / "kerdegari2021_ApplSci_lungUS_ccby.pdf"
    kept = process_file(pdf, tmp_path, ExtractSettings()).chunks
    everything = process_file(pdf, tmp_path / "all", ExtractSettings(drop_apparatus=False)).chunks
    text = " ".join(c.text for c in kept)
    assert "[CrossRef]" in " ".join(c.text for c in everything), "the paper has a reference list to drop"
    assert "[CrossRef]" not in text and "licenses/by" not in text and "Data Availability" not in text
    assert "B-line" in text and len(kept) >= 0.7 * len(everything) - 10
