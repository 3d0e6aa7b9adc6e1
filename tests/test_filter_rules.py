"""Every filter rule, each with samples that pass and samples that fail with the exact reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from remud_gen.filter.rules import (
    RULE_NAMES,
    FilterRulesSettings,
    RuleContext,
    default_rules,
    reason_name,
    run_rules,
)
from remud_gen.records import Generator, Sample, SourceRef, Turn

ZH_Q = "甲状腺结节的超声特征有哪些？"
ZH_A = "恶性结节多表现为低回声、边界不清、纵横比大于1，可见微钙化。"
EN_Q = "What are the sonographic features of a malignant thyroid nodule?"
EN_A = "It is usually hypoechoic with irregular margins, taller than wide, and may show microcalcifications."
THINK_ZH = "题干描述结节低回声、边界不清并伴微钙化，这些都是恶性征象；纵横比大于1进一步支持恶性，因此选择C。" * 2
THINK_EN = "The nodule is hypoechoic, has irregular margins and microcalcifications, all malignant signs; so C."
OPTIONS = {"A": "单纯囊肿", "B": "胶质囊肿", "C": "甲状腺乳头状癌", "D": "结节性甲状腺肿", "E": "亚急性甲状腺炎"}
IMAGE = "extract/images/abc123.png"


def make(turns: list[tuple[str, str]] | None = None, **fields: Any) -> Sample:
    """A valid zh text QA sample unless ``fields`` say otherwise."""
    base: dict[str, Any] = {
        "sample_id": "qa-c1-zh",
        "kind": "qa",
        "language": "zh",
        "turns": [
            Turn(role=r, text=t) for r, t in (turns if turns is not None else [("user", ZH_Q), ("assistant", ZH_A)])
        ],
        "source": SourceRef(doc="book.pdf", page=3, chunk_id="c1"),
        "generator": Generator(model="m", prompt_file="qa.zh.md", prompt_sha256="0" * 64),
    }
    base.update(fields)
    return Sample(**base)


def en(turns: list[tuple[str, str]] | None = None, **fields: Any) -> Sample:
    return make(turns or [("user", EN_Q), ("assistant", EN_A)], language="en", **fields)


def mcq(**fields: Any) -> Sample:
    base: dict[str, Any] = {"kind": "qa-reasoning", "thinking": THINK_ZH, "options": dict(OPTIONS), "answer": "C"}
    base.update(fields)
    turns = [("user", "女性，45岁，甲状腺低回声结节伴微钙化，最可能的诊断是？"), ("assistant", "C. 甲状腺乳头状癌")]
    return make(base.pop("turns", turns), **base)


def vqa(turns: list[tuple[str, str]] | None = None, **fields: Any) -> Sample:
    base: dict[str, Any] = {"kind": "vqa", "images": [IMAGE]}
    base.update(fields)
    default = [("user", "这张超声图像显示了什么？"), ("assistant", "图像显示甲状腺右叶一低回声结节，边界不清。")]
    return make(turns or default, **base)


PASSING: list[tuple[str, Sample]] = [
    ("zh text QA", make()),
    ("en text QA", en()),
    ("leading system turn", make([("system", "你是超声医生。"), ("user", ZH_Q), ("assistant", ZH_A)])),
    ("multi-turn", make([("user", ZH_Q), ("assistant", ZH_A), ("user", "如何与良性结节鉴别？"), ("assistant", ZH_A)])),
    ("zh with Latin abbreviations", make([("user", ZH_Q), ("assistant", "TI-RADS 4类结节，CDFI示周边血流信号。")])),
    ("MCQ", mcq()),
    ("MCQ with a bare-letter reply", mcq(turns=[("user", "最可能的诊断是？"), ("assistant", "C")])),
    ("two options", mcq(options={"A": "是", "B": "否"}, answer="B")),
    ("open reasoning VQA", vqa(kind="vqa-reasoning", thinking=THINK_ZH, answer="甲状腺乳头状癌")),
    ("VQA about the image itself (zh)", vqa()),
    (
        "VQA about the image itself (en)",
        en([("user", "What does this image show?"), ("assistant", EN_A)], kind="vqa", images=[IMAGE]),
    ),
    ("VQA with its own <image> token", vqa([("user", "<image>这张超声图像显示了什么？"), ("assistant", ZH_A)])),
    ("图中 about the image", vqa([("user", "图中可见什么病变？"), ("assistant", "图中可见一低回声结节，边界不清。")])),
    (
        "following image",
        en(
            [("user", "Based on the following image, what is the finding?"), ("assistant", EN_A)],
            kind="vqa",
            images=[IMAGE],
        ),
    ),
    ("clinical 'previous scan'", en([("user", EN_Q), ("assistant", "It has grown compared with the previous scan.")])),
    ("non-reasoning kind without a trace", make(thinking=None)),
    ("disclaimer-free 'cannot'", en([("user", EN_Q), ("assistant", "Ultrasound alone cannot exclude malignancy.")])),
]

FAILING: list[tuple[str, Sample, list[str]]] = [
    ("no turns", make([]), ["valid_schema: no turns", "roles_alternate: no user/assistant turns"]),
    ("unknown region", make(region="lung"), ["valid_schema: unknown region 'lung'"]),
    ("empty kind", make(kind=" "), ["valid_schema: empty kind"]),
    (
        "two user turns",
        make([("user", ZH_Q), ("user", ZH_Q), ("assistant", ZH_A)]),
        ["roles_alternate: turn 2 is user, expected assistant"],
    ),
    (
        "starts with the assistant",
        make([("assistant", ZH_A), ("user", ZH_Q)]),
        ["roles_alternate: turn 1 is assistant, expected user"],
    ),
    (
        "ReMUD: no reply at the end",
        make([("user", ZH_Q), ("assistant", ZH_A), ("user", "还有呢？")]),
        ["roles_alternate: last turn is the user's (no reply)"],
    ),
    (
        "system in the middle",
        make([("user", ZH_Q), ("system", "x"), ("assistant", ZH_A)]),
        ["roles_alternate: turn 2 is system, expected assistant"],
    ),
    ("ReMUD: an empty reply", make([("user", ZH_Q), ("assistant", "")]), ["no_empty_turn: assistant turn 2 is empty"]),
    (
        "a reply of zero-width spaces",
        make([("user", ZH_Q), ("assistant", "\u200b \n")]),
        ["no_empty_turn: assistant turn 2 is empty"],
    ),
    ("an empty question", make([("user", "  "), ("assistant", ZH_A)]), ["no_empty_turn: user turn 1 is empty"]),
    (
        "think tag leaked into the reply",
        make([("user", ZH_Q), ("assistant", "<think>嗯</think>" + ZH_A)]),
        ["no_stray_tags: <think> in assistant turn 2"],
    ),
    ("answer tag in the trace", mcq(thinking=THINK_ZH + "<answer>C</answer>"), ["no_stray_tags: <answer> in thinking"]),
    ("VQA without an image", vqa(images=[]), ["images_consistent: vqa item without an image"]),
    (
        "image file missing",
        vqa(images=["extract/images/nope.png"]),
        ["images_consistent: missing image extract/images/nope.png"],
    ),
    (
        "absolute image path",
        vqa(images=["/etc/passwd"]),
        ["images_consistent: image path is not relative to WORK: '/etc/passwd'"],
    ),
    (
        "image path escaping WORK",
        vqa(images=["../secret.png"]),
        ["images_consistent: image path is not relative to WORK: '../secret.png'"],
    ),
    (
        "two tokens for one image",
        vqa([("user", "<image><image>这是什么？"), ("assistant", ZH_A)]),
        ["images_consistent: 2 <image> tokens for 1 images"],
    ),
    (
        "token in the reply",
        vqa([("user", "这是什么？"), ("assistant", "<image>" + ZH_A)]),
        ["images_consistent: <image> outside a user turn"],
    ),
    ("same image twice", vqa(images=[IMAGE, IMAGE]), ["images_consistent: the same image is attached twice"]),
    ("reasoning without a trace", mcq(thinking=None), ["thinking_trace: thinking trace has 0 chars, needs 50"]),
    (
        "a trace too short",
        vqa(kind="vqa-reasoning", thinking="低回声，恶性。"),
        ["thinking_trace: thinking trace has 7 chars, needs 50"],
    ),
    ("answer not an option", mcq(answer="F"), ["mcq_answer: answer 'F' is not one of ABCDE"]),
    ("answer missing", mcq(answer=None), ["mcq_answer: answer '' is not one of ABCDE"]),
    ("one option", mcq(options={"A": "是"}, answer="A"), ["mcq_answer: 1 options, needs 2-5"]),
    ("six options", mcq(options={k: k * 3 for k in "ABCDEF"}), ["mcq_answer: 6 options, needs 2-5"]),
    (
        "a gap in the letters",
        mcq(options={"A": "甲", "B": "乙", "D": "丁"}, answer="A"),
        ["mcq_answer: option keys ABD are not A-C"],
    ),
    ("two equal options", mcq(options={**OPTIONS, "D": " 单纯囊肿 "}), ["mcq_answer: two options are the same"]),
    ("an empty option", mcq(options={**OPTIONS, "E": "  "}), ["mcq_answer: an option is empty"]),
    (
        "ReMUD: 前一张",
        vqa([("user", "与前一张图像相比有何变化？"), ("assistant", ZH_A)]),
        ["no_figure_reference: 前一张"],
    ),
    (
        "ReMUD: 图中A部分",
        vqa([("user", "这是什么？"), ("assistant", "图中A部分为低回声结节，边界不清。")]),
        ["no_figure_reference: 图中A部分"],
    ),
    ("图3-2", make([("user", ZH_Q), ("assistant", "如图3-2，结节呈低回声。")]), ["no_figure_reference: 如图3-2"]),
    ("如图所示", make([("user", ZH_Q), ("assistant", "如图所示，结节呈低回声。")]), ["no_figure_reference: 如图所示"]),
    ("上图", make([("user", "上图中的结节是什么？"), ("assistant", ZH_A)]), ["no_figure_reference: 上图"]),
    ("后一张", vqa([("user", "后一张图像显示什么？"), ("assistant", ZH_A)]), ["no_figure_reference: 后一张"]),
    ("见第12页", make([("user", ZH_Q), ("assistant", ZH_A + "详见第12页。")]), ["no_figure_reference: 详见第12页"]),
    ("A图", vqa([("user", "A图为哪个切面？"), ("assistant", ZH_A)]), ["no_figure_reference: A图"]),
    ("full-width 图３", make([("user", ZH_Q), ("assistant", "见图３，" + ZH_A)]), ["no_figure_reference: 图3"]),
    ("Figure 2", en([("user", EN_Q), ("assistant", "As Figure 2 shows, " + EN_A)]), ["no_figure_reference: Figure 2"]),
    ("Fig. 3b", en([("user", EN_Q), ("assistant", EN_A + " (Fig. 3b)")]), ["no_figure_reference: Fig. 3b"]),
    ("panel B", en([("user", "What is seen in panel B?"), ("assistant", EN_A)]), ["no_figure_reference: panel B"]),
    (
        "the previous image",
        en([("user", "How does it differ from the previous image?"), ("assistant", EN_A)]),
        ["no_figure_reference: previous image"],
    ),
    (
        "as shown above",
        en([("user", EN_Q), ("assistant", EN_A + " as shown above.")]),
        ["no_figure_reference: as shown above"],
    ),
    (
        "image on the left",
        en([("user", "What is in the image on the left?"), ("assistant", EN_A)]),
        ["no_figure_reference: image on the left"],
    ),
    ("reference in the trace", mcq(thinking=THINK_ZH + "参见图2。"), ["no_figure_reference: 图2"]),
    ("reference in an option", mcq(options={**OPTIONS, "A": "图A所示囊肿"}), ["no_figure_reference: 图A"]),
    (
        "zh item answered in English",
        make([("user", ZH_Q), ("assistant", EN_A)]),
        ["language_match: assistant turn 2 is not Chinese (CJK 0.00)"],
    ),
    (
        "en item answered in Chinese",
        en([("user", EN_Q), ("assistant", ZH_A)]),
        ["language_match: assistant turn 2 is not English (CJK 1.00)"],
    ),
    (
        "a one-character reply",
        make([("user", ZH_Q), ("assistant", "是")]),
        ["length_bounds: assistant turn 2 has 1 chars, needs 2"],
    ),
    (
        "a too-short question",
        make([("user", "为何"), ("assistant", ZH_A)]),
        ["length_bounds: user turn 1 has 2 chars, needs 4"],
    ),
    (
        "a runaway reply",
        make([("user", ZH_Q), ("assistant", "低回声" * 1400)]),
        ["length_bounds: assistant turn 2 has 4200 chars, at most 4000"],
    ),
    ("As an AI", en([("user", EN_Q), ("assistant", "As an AI, I " + EN_A)]), ["no_boilerplate: as an ai"]),
    ("I'm sorry", en([("user", EN_Q), ("assistant", "I’m sorry, but " + EN_A)]), ["no_boilerplate: i'm sorry"]),
    (
        "I cannot",
        en([("user", EN_Q), ("assistant", "I cannot give a diagnosis; " + EN_A)]),
        ["no_boilerplate: i cannot"],
    ),
    (
        "作为一个AI",
        make([("user", ZH_Q), ("assistant", "作为一个AI语言模型，" + ZH_A)]),
        ["no_boilerplate: 作为一个ai"],
    ),
    ("作为人工智能", make([("user", ZH_Q), ("assistant", "作为人工智能，" + ZH_A)]), ["no_boilerplate: 作为人工智能"]),
    (
        "抱歉，我无法",
        make([("user", ZH_Q), ("assistant", "抱歉，我无法回答这个问题。")]),
        ["no_boilerplate: 抱歉,我无法"],
    ),
]


@pytest.fixture
def ctx(tmp_path: Path) -> RuleContext:
    image = tmp_path / IMAGE
    image.parent.mkdir(parents=True)
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    return RuleContext(work=tmp_path)


@pytest.mark.parametrize(("name", "sample"), PASSING, ids=[c[0] for c in PASSING])
def test_passes(name: str, sample: Sample, ctx: RuleContext) -> None:
    assert run_rules(sample, default_rules(FilterRulesSettings()), ctx) == []


@pytest.mark.parametrize(("name", "sample", "reasons"), FAILING, ids=[c[0] for c in FAILING])
def test_fails_with_reason(name: str, sample: Sample, reasons: list[str], ctx: RuleContext) -> None:
    assert run_rules(sample, default_rules(FilterRulesSettings()), ctx) == reasons


def test_every_rule_has_a_failing_case() -> None:
    failed = {reason_name(r) for _, _, reasons in FAILING for r in reasons}
    assert failed == set(RULE_NAMES)


def test_disabled_rules_are_skipped(ctx: RuleContext) -> None:
    sample = make([("user", ZH_Q), ("assistant", EN_A)])
    settings = FilterRulesSettings(disabled=["language_match"])
    assert "language_match" not in [r.name for r in default_rules(settings)]
    assert run_rules(sample, default_rules(settings), ctx) == []


def test_thresholds_come_from_settings(ctx: RuleContext) -> None:
    sample = mcq(thinking="低回声伴微钙化，支持恶性。")
    assert run_rules(sample, default_rules(FilterRulesSettings(min_thinking_chars=10)), ctx) == []
    assert run_rules(sample, default_rules(FilterRulesSettings(min_thinking_chars=20)), ctx) == [
        "thinking_trace: thinking trace has 13 chars, needs 20"
    ]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"disabled": ["no_such_rule"]}, "unknown rule(s) no_such_rule"),
        ({"min_thinking_chars": -1}, "greater than or equal to 0"),
        ({"unknown_key": 1}, "Extra inputs are not permitted"),
    ],
)
def test_bad_settings_are_rejected(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        FilterRulesSettings(**values)
