"""The whole pipeline on the generated atlas against the stand-in endpoint, as a user runs it."""

from __future__ import annotations

import itertools
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from chunk_work import jsonl
from typer.testing import CliRunner

from remud_gen.cli import app
from remud_gen.prompts import PACKAGE_PROMPTS
from remud_gen.synthesize.settings import SynthesizeSettings
from samplegen import write_sample

runner = CliRunner()


@pytest.fixture(scope="module")
def atlas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("atlas")
    write_sample(folder)
    return folder


@pytest.fixture(scope="module")
def done(atlas: Path, stub: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A work directory after one full run."""
    work = tmp_path_factory.mktemp("work")
    result = runner.invoke(
        app, ["run", str(atlas), "-o", str(work), "--base-url", stub.base_url, "--model", "stand-in", "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    return work


def test_every_stage_wrote_its_files(done: Path) -> None:
    for name in (
        "extract/documents.jsonl",
        "extract/chunks.jsonl",
        "extract/figures.jsonl",
        "synthesize/samples.jsonl",
        "synthesize/failures.jsonl",
        "filter/accepted.jsonl",
        "filter/rejected.jsonl",
        "dataset/dataset_info.json",
        "manifest.json",
    ):
        assert (done / name).exists(), name
    assert any((done / "extract" / "images").iterdir())


def test_shards_are_sharegpt_with_images_beside_them(done: Path) -> None:
    shards = sorted((done / "dataset").glob("remud-*-of-*.json"))
    assert shards
    kinds = set()
    for shard in shards:
        for record in json.loads(shard.read_text(encoding="utf-8")):
            turns = record["conversations"]
            roles = [t["from"] for t in turns if t["from"] != "system"]
            assert roles[0] == "human" and roles[-1] == "gpt"
            assert all(a != b for a, b in itertools.pairwise(roles))
            tokens = sum(t["value"].count("<image>") for t in turns)
            assert tokens == len(record["images"])
            for image in record["images"]:
                assert (shard.parent / image).is_file()
            kinds.add(record.get("kind"))
    assert {"qa", "vqa"} <= kinds


def test_every_record_traces_to_its_source(done: Path) -> None:
    figures = {f["figure_key"] for f in jsonl(done / "extract" / "figures.jsonl")}
    chunks = {c["chunk_id"] for c in jsonl(done / "extract" / "chunks.jsonl")}
    for sample in jsonl(done / "synthesize" / "samples.jsonl"):
        source = sample["source"]
        assert source["doc"] and source["page"] >= 1
        assert source["figure_key"] in figures or source["chunk_id"] in chunks


def test_manifest_has_counts_and_versions_and_no_key(done: Path) -> None:
    manifest = json.loads((done / "manifest.json").read_text())
    for stage in ("extract", "synthesize", "filter"):
        entry = manifest["stages"][stage]
        assert entry["status"] == "done" and entry["counts"] and entry["versions"]["python"]
    assert manifest["stages"]["synthesize"]["usage"]["prompt_tokens"] > 0
    key = os.environ["OPENAI_API_KEY"]  # set by conftest for every test, and so for the run above
    for path in done.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".jsonl", ".html", ".md"):
            assert key not in path.read_text(encoding="utf-8", errors="ignore"), path


def test_rerun_does_no_work(done: Path, atlas: Path, stub: Any) -> None:
    before = stub.stats()["requests"]
    mtime = (done / "dataset" / "dataset_info.json").stat().st_mtime_ns
    result = runner.invoke(
        app, ["run", str(atlas), "-o", str(done), "--base-url", stub.base_url, "--model", "stand-in"]
    )
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    assert stub.stats()["requests"] == before
    assert (done / "dataset" / "dataset_info.json").stat().st_mtime_ns == mtime


def test_new_threshold_reuses_the_judges_answers(done: Path, stub: Any) -> None:
    before = stub.stats()["requests"]
    result = runner.invoke(
        app, ["filter", str(done), "--base-url", stub.base_url, "--model", "stand-in", "--threshold", "4.5"]
    )
    assert result.exit_code == 0, result.output
    assert stub.stats()["requests"] == before
    manifest = json.loads((done / "manifest.json").read_text())
    assert manifest["stages"]["filter"]["config"]["filter"]["judge"]["threshold"] == 4.5


def test_unreachable_endpoint_is_one_line(done: Path, tmp_path: Path) -> None:
    work = tmp_path / "w"
    (work / "extract").mkdir(parents=True)
    for name in ("chunks.jsonl", "figures.jsonl", "documents.jsonl"):
        (work / "extract" / name).write_bytes((done / "extract" / name).read_bytes())
    result = runner.invoke(app, ["synthesize", str(work), "--base-url", "http://127.0.0.1:9/v1"])
    assert result.exit_code == 3
    assert "cannot reach the model endpoint" in result.output and "Traceback" not in result.output
    assert not (work / "synthesize" / "samples.jsonl").exists()


def test_dry_run_sends_nothing(done: Path, stub: Any, tmp_path: Path) -> None:
    work = tmp_path / "w"
    shutil.copytree(done / "extract", work / "extract")
    before = stub.stats()["requests"]
    result = runner.invoke(app, ["synthesize", str(work), "--base-url", stub.base_url, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would send" in result.output and stub.stats()["requests"] == before
    assert not (work / "synthesize" / "samples.jsonl").exists()


def test_missing_images_fail_their_items_not_the_run(done: Path, stub: Any, tmp_path: Path) -> None:
    work = tmp_path / "w"
    (work / "extract").mkdir(parents=True)
    for name in ("chunks.jsonl", "figures.jsonl", "documents.jsonl"):
        (work / "extract" / name).write_bytes((done / "extract" / name).read_bytes())
    result = runner.invoke(app, ["synthesize", str(work), "--base-url", stub.base_url, "--model", "stand-in"])
    assert result.exit_code == 1, result.output
    failures = jsonl(work / "synthesize" / "failures.jsonl")
    assert failures and {f["error"] for f in failures} == {"missing_image"}
    kinds = {s["kind"] for s in jsonl(work / "synthesize" / "samples.jsonl")}
    assert kinds == {"qa", "qa-reasoning"}


def test_bad_file_in_a_batch_does_not_stop_the_rest(atlas: Path, tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "broken.pdf").write_bytes(b"%PDF-1.7\nthis is not really a pdf")
    (batch / "good.pdf").write_bytes((atlas / "atlas_en.pdf").read_bytes())
    work = tmp_path / "w"
    result = runner.invoke(app, ["extract", str(batch), "-o", str(work), "--workers", "1"])
    assert result.exit_code == 1
    assert "broken.pdf" in result.output and "Traceback" not in result.output
    docs = [d["doc"] for d in jsonl(work / "extract" / "documents.jsonl")]
    assert docs == ["good.pdf"]
    assert not list((work / "extract").glob(".*.tmp"))


def test_every_kind_was_generated(done: Path) -> None:
    kinds = {s["kind"] for s in jsonl(done / "synthesize" / "samples.jsonl")}
    assert kinds == {"qa", "qa-reasoning", "vqa", "vqa-reasoning"}
    languages = {s["language"] for s in jsonl(done / "synthesize" / "samples.jsonl")}
    assert languages == {"zh", "en"}, "a Chinese source gives Chinese items, an English one English items"


def test_each_vqa_request_is_bound_to_its_own_panel(done: Path) -> None:
    from remud_gen.io import ReadReport, read_records
    from remud_gen.records import Figure
    from remud_gen.synthesize.plan import load_units, plan_jobs
    from remud_gen.synthesize.requests import requests
    from remud_gen.synthesize.tasks import load_task

    settings = SynthesizeSettings(tasks=["vqa"])
    chunks, figures = load_units(done / "extract", settings, ReadReport())
    jobs = plan_jobs([load_task("vqa", PACKAGE_PROMPTS)], chunks, figures, settings)
    by_key = {f.figure_key: f for f in read_records(done / "extract" / "figures.jsonl", Figure)}
    panels = [by_key[u.unit_id] for u in figures]
    assert any(f.panel for f in panels), "the atlas has multi-panel figures"
    checked = 0
    for job, req in zip(jobs, requests(jobs, done, settings), strict=True):
        fig = by_key[job.unit.unit_id]
        images = [p for m in req.messages for p in m.images]
        assert images == [done / fig.image], "exactly one image: this panel's own crop"
        text = req.messages[-1].text
        for sibling in panels:
            same_figure = sibling.doc == fig.doc and sibling.figure_id == fig.figure_id and sibling.figure_id
            if same_figure and sibling.panel != fig.panel and sibling.panel_caption not in ("", fig.panel_caption):
                assert sibling.panel_caption not in text, "another panel's legend must not reach this panel's prompt"
                checked += 1
    assert checked > 0
    for sample in jsonl(done / "synthesize" / "samples.jsonl"):
        if sample["source"]["figure_key"]:
            fig = next(f for f in panels if f.figure_key == sample["source"]["figure_key"])
            assert sample["images"] == [fig.image]


def test_language_both_adds_a_translation_of_every_item(done: Path, stub: Any, tmp_path: Path) -> None:
    work = tmp_path / "w"
    shutil.copytree(done / "extract", work / "extract")
    args = [
        "synthesize",
        str(work),
        "--base-url",
        stub.base_url,
        "--model",
        "stand-in",
        "--task",
        "qa-reasoning",
        "--language",
        "both",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    made = jsonl(work / "synthesize" / "samples.jsonl")
    by_id = {s["sample_id"]: s for s in made}
    originals = [s for s in made if s["generator"]["prompt_file"].startswith("qa-reasoning")]
    assert originals and len(made) == 2 * len(originals)
    for s in originals:
        other = "en" if s["language"] == "zh" else "zh"
        twin = by_id[s["sample_id"].rsplit("-", 1)[0] + f"-{other}"]
        assert twin["language"] == other and twin["source"] == s["source"]
        assert twin["generator"]["prompt_file"] == f"translate.{other}.md"


def test_several_items_per_unit_ask_for_different_things(done: Path, stub: Any, tmp_path: Path) -> None:
    work = tmp_path / "w"
    shutil.copytree(done / "extract", work / "extract")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("synthesize:\n  items_per_unit: 3\n")
    args = [
        "synthesize",
        str(work),
        "-c",
        str(cfg),
        "--base-url",
        stub.base_url,
        "--model",
        "stand-in",
        "--task",
        "qa-reasoning",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    ids = [s["sample_id"] for s in jsonl(work / "synthesize" / "samples.jsonl")]
    chunks = len(jsonl(work / "extract" / "chunks.jsonl"))
    assert len(ids) == len(set(ids)) and len(ids) > chunks
    assert sum(i.endswith("-v2") for i in ids) == sum(not i.endswith(("-v1", "-v2")) for i in ids)


def test_refiltering_retires_an_old_test_split(done: Path, stub: Any, tmp_path: Path) -> None:
    work = tmp_path / "w"
    shutil.copytree(done, work)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("filter:\n  judge:\n    threshold: 1.0\n    blind_mismatch: flag\n")
    keep_mcqs = ["filter", str(work), "-c", str(cfg), "--base-url", stub.base_url, "--model", "stand-in"]
    assert runner.invoke(app, keep_mcqs).exit_code == 0
    result = runner.invoke(app, ["split", str(work), "--test-size", "1"])
    assert result.exit_code == 0, result.output
    assert (work / "dataset" / "test.json").exists()
    result = runner.invoke(app, [*keep_mcqs, "--threshold", "1.5"])
    assert result.exit_code == 0, result.output
    assert "run `remud-gen split` again" in result.output
    assert not (work / "dataset" / "test.json").exists()
    info = json.loads((work / "dataset" / "dataset_info.json").read_text())
    assert not any(name.endswith("-test") for name in info)


def test_a_rerun_retries_only_the_items_that_failed(done: Path, stub: Any, tmp_path: Path) -> None:
    from remud_gen.stub import BackgroundStub

    work = tmp_path / "work"
    shutil.copytree(done / "extract", work / "extract")
    shutil.copy(done / "manifest.json", work / "manifest.json")
    config = tmp_path / "no-retries.yaml"
    config.write_text("endpoint:\n  max_retries: 0\n", encoding="utf-8")
    args = ["synthesize", str(work), "--model", "stand-in", "-c", str(config)]
    with BackgroundStub(fault_500=0.3) as flaky:
        first = runner.invoke(app, [*args, "--base-url", flaky.base_url])
    failed = jsonl(work / "synthesize" / "failures.jsonl")
    assert first.exit_code != 0 and failed and {f["error"] for f in failed} == {"http_500"}
    made = len(jsonl(work / "synthesize" / "samples.jsonl"))
    before = stub.stats()["by_path"].get("/v1/chat/completions", 0)
    second = runner.invoke(app, [*args, "--base-url", stub.base_url])
    assert second.exit_code == 0, second.output
    assert stub.stats()["by_path"]["/v1/chat/completions"] - before == len(
        failed
    )  # answered ones come from the journal
    assert len(jsonl(work / "synthesize" / "samples.jsonl")) > made
    assert jsonl(work / "synthesize" / "failures.jsonl") == []
