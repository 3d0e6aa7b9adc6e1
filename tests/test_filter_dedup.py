"""Duplicate removal: exact and near duplicates in Chinese and English, per-image caps, a stable choice."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from remud_gen.filter.dedup import DedupSettings, Duplicate, find_duplicates, normalise
from remud_gen.records import Generator, Sample, SourceRef, Turn


def make(sample_id: str, question: str, answer: str, *, language: str = "zh", **fields: Any) -> Sample:
    return Sample(
        sample_id=sample_id,
        kind=fields.pop("kind", "qa"),
        language=language,
        turns=[Turn(role="user", text=question), Turn(role="assistant", text=answer)],
        source=SourceRef(doc="book.pdf", page=1, chunk_id=sample_id),
        generator=Generator(model="m", prompt_file="p", prompt_sha256="0" * 64),
        **fields,
    )


PTC_ZH = "甲状腺乳头状癌典型表现为实性低回声结节，边界不清，纵横比大于1，常见微钙化。"
PTC_EN = "Papillary carcinoma is usually a solid hypoechoic nodule, taller than wide, with microcalcifications."

# (case, first sample, second sample, the reason the second is dropped, or None when both are kept)
CASES: list[tuple[str, Sample, Sample, str | None]] = [
    (
        "exact, up to case, width and punctuation",
        make("a", "What is the  normal NT thickness?", "Below 3 mm.", language="en"),
        make("b", "what is the normal ＮＴ thickness", "below 3 mm", language="en"),
        "exact_duplicate",
    ),
    (
        "zh: a polite prefix",
        make("a", "请问甲状腺乳头状癌的典型超声表现有哪些？", PTC_ZH),
        make("b", "甲状腺乳头状癌的典型超声表现有哪些？", PTC_ZH.replace("常见", "可见")),
        "near_duplicate",
    ),
    (
        "zh: one inserted character",
        make("a", "甲状腺结节的典型超声特征有哪些？", PTC_ZH),
        make("b", "甲状腺结节的典型超声特征都有哪些？", PTC_ZH),
        "near_duplicate",
    ),
    (
        "en: an inserted article",
        make("a", "What are the typical sonographic features of papillary thyroid carcinoma?", PTC_EN, language="en"),
        make("b", "What are the typical sonographic features of a papillary thyroid carcinoma?", PTC_EN, language="en"),
        "near_duplicate",
    ),
    (
        "zh: a different disease",
        make("a", "急性胆囊炎的超声表现有哪些？", "胆囊增大，壁增厚呈双边征。"),
        make("b", "急性阑尾炎的超声表现有哪些？", "阑尾增粗，直径大于6毫米，不可压缩。"),
        None,
    ),
    (
        "zh: one character apart, different answers",
        make("a", "肝囊肿的超声表现是什么？", "肝内圆形无回声区，壁薄光滑，后方回声增强。"),
        make("b", "肾囊肿的超声表现是什么？", "肾实质内类圆形无回声，边界清楚，后方回声增强。"),
        None,
    ),
    (
        "en: a different organ",
        make("a", "How is the thyroid volume measured?", "Length x width x depth x 0.52 per lobe.", language="en"),
        make("b", "How is the bladder volume measured?", "Length x width x height x 0.52.", language="en"),
        None,
    ),
    (
        "the same question about two different images",
        make("a", "这张超声图像显示了什么？", "甲状腺右叶低回声结节。", kind="vqa", images=["i/1.png"]),
        make("b", "这张超声图像显示了什么？", "甲状腺右叶低回声结节。", kind="vqa", images=["i/2.png"]),
        None,
    ),
    (
        "the same question twice about one image",
        make("a", "这张超声图像显示了什么？", "甲状腺右叶低回声结节，边界不清。", kind="vqa", images=["i/1.png"]),
        make("b", "这张超声图像显示了什么", "甲状腺右叶低回声结节，边界欠清。", kind="vqa", images=["i/1.png"]),
        "near_duplicate",
    ),
]


@pytest.mark.parametrize(("case", "first", "second", "reason"), CASES, ids=[c[0] for c in CASES])
def test_pairs(case: str, first: Sample, second: Sample, reason: str | None) -> None:
    dropped = find_duplicates([second, first], DedupSettings(max_samples_per_image=None))
    if reason is None:
        assert dropped == {}
    else:
        assert list(dropped) == ["b"]
        assert dropped["b"].reason == reason
        assert dropped["b"].of == "a"  # the first by sample_id is kept, whatever the input order


def test_reason_text_names_the_kept_sample() -> None:
    assert str(Duplicate("near_duplicate", "qa-c1-zh", 0.875)) == "near_duplicate: qa-c1-zh (similarity 0.88)"
    assert str(Duplicate("exact_duplicate", "qa-c1-zh")) == "exact_duplicate: qa-c1-zh"


def test_threshold_is_configurable() -> None:
    a = make("a", "甲状腺结节的典型超声特征有哪些？", PTC_ZH)
    b = make("b", "甲状腺结节的典型超声特征都有哪些？", PTC_ZH)
    assert find_duplicates([a, b], DedupSettings(threshold=0.95)) == {}
    assert find_duplicates([a, b], DedupSettings(near=False)) == {}
    assert "b" in find_duplicates([a, b], DedupSettings(threshold=0.7))


def test_cap_per_image_keeps_the_first_ones() -> None:
    samples = [
        make(f"s{i}", f"第{i}个问题：病灶位于哪个节段{'？' * i}", f"回答{i}" * (i + 1), kind="vqa", images=["i/1.png"])
        for i in range(5)
    ]
    other = make("t0", "这张图像显示什么？", "肝脏。", kind="vqa", images=["i/2.png"])
    dropped = find_duplicates([*reversed(samples), other], DedupSettings(near=False, max_samples_per_image=3))
    assert dropped == {"s3": Duplicate("image_cap", "s0"), "s4": Duplicate("image_cap", "s0")}


def test_normalise() -> None:
    assert normalise("<image>What  is ＮＴ?\n") == "whatisnt"
    assert normalise("甲状腺，结节。") == "甲状腺结节"


def test_result_does_not_depend_on_input_order() -> None:
    samples = _corpus(600, seed=1)
    first = find_duplicates(samples, DedupSettings())
    shuffled = samples[:]
    random.Random(7).shuffle(shuffled)
    assert find_duplicates(shuffled, DedupSettings()) == first
    assert first, "the corpus has duplicates to find"


def test_ten_thousand_samples_in_seconds() -> None:
    samples = _corpus(10_000, seed=2)
    start = time.process_time()
    dropped = find_duplicates(samples, DedupSettings())
    elapsed = time.process_time() - start
    # about 3 s of CPU (50k: about 19 s); the bound catches a quadratic slip, not a slow runner
    assert elapsed < 20, f"dedup of 10k samples took {elapsed:.1f}s of CPU"
    assert 0 < len(dropped) < len(samples) // 2


def _corpus(n: int, seed: int) -> list[Sample]:
    """Questions from a vocabulary of organs and findings; every tenth repeats an earlier one with a small edit."""
    rng = random.Random(seed)
    organs = ["甲状腺", "乳腺", "肝脏", "胆囊", "胰腺", "脾脏", "肾脏", "膀胱", "子宫", "卵巢", "心脏", "颈动脉"]
    findings = ["结节", "囊肿", "钙化", "血流", "占位", "积液", "增厚", "萎缩", "扩张", "狭窄"]
    asks = ["的超声表现有哪些", "如何鉴别良恶性", "的典型声像图特征是什么", "需要与哪些疾病鉴别", "的随访间隔是多久"]
    out: list[Sample] = []
    for i in range(n):
        if i and i % 10 == 0:
            base = out[rng.randrange(len(out))]
            question = "请问" + base.turns[0].text
            answer = base.turns[1].text + "。"
        else:
            question = f"{rng.choice(organs)}{rng.choice(findings)}{rng.choice(asks)}（病例{i}）？"
            answer = f"{rng.choice(organs)}可见{rng.choice(findings)}，{rng.choice(asks)}，编号{i}。"
        images = [f"extract/images/{rng.randrange(n // 3)}.png"] if i % 2 else []
        out.append(make(f"s{i:06d}", question, answer, kind="vqa" if images else "qa", images=images))
    return out
