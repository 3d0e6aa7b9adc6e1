"""What the shared stage base and the neutral text module promise a user of the library."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from remud_gen import synthesize
from remud_gen.eval.items import load
from remud_gen.extract.model import join_lines
from remud_gen.llm.access import ModelAccess
from remud_gen.llm.settings import EndpointSettings
from remud_gen.synthesize.settings import SynthesizeSettings
from remud_gen.text.lang import cjk_share, is_cjk, is_wide, language_of
from remud_gen.workdir import WorkDir

SECRET = "sk-test-never-written-0123456789"


def test_a_stage_uses_the_model_access_it_is_handed(extracted: Path, stub: Any, tmp_path: Path) -> None:
    work = shutil.copytree(extracted, tmp_path / "work")
    model = ModelAccess(EndpointSettings(base_url=stub.base_url, model="stand-in"), SECRET)
    settings = SynthesizeSettings(tasks=["qa"])

    first = synthesize.run(WorkDir(work), settings, model)
    again = synthesize.run(WorkDir(work), settings, model)

    assert first.items_out > 0 and first.ok and not first.skipped
    assert again.skipped and again.items_out == first.items_out, "unchanged inputs and settings: nothing to do"
    written = "".join(p.read_text(encoding="utf-8") for p in work.rglob("*.json*"))
    assert SECRET not in written and SECRET not in repr(model), "the key stays in memory"
    entry = json.loads((work / "manifest.json").read_text(encoding="utf-8"))["stages"]["synthesize"]
    assert entry["config"]["endpoint"]["base_url"] == [stub.base_url]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("肝脏右叶见一低回声结节，边界清晰。", "zh"),
        ("超声 (ultrasound) 检查显示胆囊壁增厚", "zh"),
        ("The lesion is hypoechoic relative to the liver.", "en"),
        ("Which view shows the 肝门 best?", "en"),  # an English question quoting one Chinese term
        ("", "en"),
    ],
)
def test_one_language_rule_for_every_stage(text: str, language: str) -> None:
    assert language_of(text) == language


@pytest.mark.parametrize(
    ("char", "cjk", "wide"),
    [
        ("肝", True, True),
        ("\U00020000", True, True),  # extension B: a Han ideograph outside the basic plane
        ("\u2f24", False, True),  # a Kangxi radical, as Chinese PDF text layers often carry for 大
        ("，", False, True),
        ("a", False, False),
        ("é", False, False),
    ],
)
def test_one_definition_of_a_cjk_character(char: str, cjk: bool, wide: bool) -> None:
    assert (is_cjk(char), is_wide(char)) == (cjk, wide)


def test_wrapped_chinese_lines_join_without_a_space_even_after_a_radical() -> None:
    assert join_lines(["肝脏\u2f24", "小正常"]) == "肝脏\u2f24小正常"
    assert join_lines(["the liver", "is normal"]) == "the liver is normal"


def test_cjk_share_counts_letters_not_digits_or_spaces() -> None:
    assert cjk_share("肝 12 mm") == (pytest.approx(1 / 3), 3)


def test_eval_reads_a_mixed_question_by_its_letters(tmp_path: Path) -> None:
    human = "Which view shows the 肝门 best?\nA. one\nB. two\nC. three\nD. four"
    record = {"conversations": [{"from": "human", "value": human}, {"from": "gpt", "value": "<answer>A</answer>"}]}
    data = tmp_path / "test.json"
    data.write_text(json.dumps([record], ensure_ascii=False), encoding="utf-8")

    loaded = load(data, "ABCD")

    assert [item.language for item in loaded.items] == ["en"]
