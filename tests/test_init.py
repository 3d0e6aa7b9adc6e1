"""`remud-gen init`: a starter config and an editable prompt folder, and the pipeline really reading that folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chunk_work import chunks_only
from typer.testing import CliRunner

from remud_gen.cli import app
from remud_gen.config import Config, load_config
from remud_gen.prompts import ChatPrompt

runner = CliRunner()
TEXT = (
    "Part {i}. Acute pyelonephritis may show an enlarged kidney with reduced corticomedullary differentiation. "
    "Colour Doppler can show wedge-shaped areas of reduced perfusion. A renal abscess appears as a complex "
    "collection with internal echoes and posterior enhancement."
)


def test_init_writes_a_commented_config_whose_prompt_folders_are_the_copy(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "mine")])
    assert result.exit_code == 0, result.output
    config_file, prompts = tmp_path / "mine" / "remud-gen.yaml", tmp_path / "mine" / "prompts"
    for lang in ("zh", "en"):
        for name in (f"qa.{lang}.md", f"judge.{lang}.md", f"system_{lang}.txt", f"system_mcq_{lang}.txt"):
            assert (prompts / name).is_file(), name
    cfg = load_config(config_file)
    assert cfg.synthesize.prompts_dir == cfg.filter.prompts_dir == cfg.eval.prompts_dir == prompts.resolve()
    # every other setting is the default, and every key says what it does
    for section in (cfg.synthesize, cfg.filter, cfg.eval):
        section.prompts_dir = None
    assert cfg == Config()
    keys = [line for line in config_file.read_text(encoding="utf-8").splitlines() if line.strip()[:1].isalpha()]
    assert keys and all("  # " in line for line in keys)


def test_init_never_overwrites_unless_forced(tmp_path: Path) -> None:
    assert runner.invoke(app, ["init", str(tmp_path)]).exit_code == 0
    mine = tmp_path / "prompts" / "qa.en.md"
    mine.write_text("[system]\nmine\n[user]\n$source\n", encoding="utf-8")

    result = runner.invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "exists" in lines[0] and "--force" in lines[0], result.output
    assert mine.read_text(encoding="utf-8").startswith("[system]\nmine")

    assert runner.invoke(app, ["init", str(tmp_path), "--force"]).exit_code == 0
    assert "mine" not in mine.read_text(encoding="utf-8")


def test_init_into_a_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("not a folder", encoding="utf-8")
    result = runner.invoke(app, ["init", str(target)])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert target.read_text(encoding="utf-8") == "not a folder"


def test_edits_in_the_init_folder_reach_the_model_and_the_dataset(tmp_path: Path, stub: Any) -> None:
    assert runner.invoke(app, ["init", str(tmp_path / "mine")]).exit_code == 0
    prompts = tmp_path / "mine" / "prompts"
    (prompts / "system_en.txt").write_text("You answer as the sonography tutor of ward 7.\n", encoding="utf-8")
    qa = prompts / "qa.en.md"
    qa.write_text(qa.read_text(encoding="utf-8").replace("[user]", "Ward 7 house style.\n[user]", 1), "utf-8")
    work = chunks_only(tmp_path / "work", [TEXT.format(i=i) for i in range(4)])
    common = ["-c", str(tmp_path / "mine" / "remud-gen.yaml"), "--base-url", stub.base_url, "--model", "stand-in"]

    result = runner.invoke(app, ["synthesize", str(work), *common])
    assert result.exit_code == 0, result.output
    samples = [json.loads(line) for line in (work / "synthesize" / "samples.jsonl").read_text("utf-8").splitlines()]
    assert samples
    assert {s["generator"]["prompt_sha256"] for s in samples if s["kind"] == "qa"} == {ChatPrompt(qa).sha256}

    result = runner.invoke(app, ["filter", str(work), *common])
    assert result.exit_code == 0, result.output
    records = [r for shard in sorted((work / "dataset").glob("remud-*.json")) for r in json.loads(shard.read_text())]
    assert records and {r["language"] for r in records} == {"en"}
    # qa items carry the "system" prompt of prompts/system_prompts.yaml; MCQ kinds carry their own (system_mcq)
    tutor = {r["conversations"][0]["value"] for r in records if r["kind"] == "qa"}
    assert tutor == {"You answer as the sonography tutor of ward 7."}
