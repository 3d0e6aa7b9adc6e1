"""Every kind end to end on real English papers (../shared/corpus/en_papers) against the stand-in endpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from chunk_work import jsonl
from typer.testing import CliRunner

from remud_gen.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def work(corpus: Path, stub: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("papers")
    args = ["run", str(corpus / "en_papers"), "-o", str(out), "--base-url", stub.base_url, "--model", "stand-in"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return out


def test_every_kind_is_generated_from_real_papers(work: Path) -> None:
    samples = jsonl(work / "synthesize" / "samples.jsonl")
    assert {s["kind"] for s in samples} == {"qa", "qa-reasoning", "vqa", "vqa-reasoning"}
    assert {s["language"] for s in samples} == {"en"}
    assert {s["source"]["doc"] for s in samples} >= {
        "boice2022_JImaging_US_panels_ccby.pdf",
        "kerdegari2021_ApplSci_lungUS_ccby.pdf",
    }


def test_vqa_items_come_only_from_ultrasound_figures(work: Path) -> None:
    figures = {f["figure_key"]: f for f in jsonl(work / "extract" / "figures.jsonl")}
    for s in jsonl(work / "synthesize" / "samples.jsonl"):
        key = s["source"]["figure_key"]
        if key:
            assert figures[key]["is_ultrasound"], f"{key} is not ultrasound but got a VQA item"


def test_accepted_items_load_as_sharegpt(work: Path) -> None:
    shards = sorted((work / "dataset").glob("remud-*-of-*.json"))
    records = [r for p in shards for r in json.loads(p.read_text(encoding="utf-8"))]
    assert records
    assert any(r["images"] for r in records)
    info = json.loads((work / "dataset" / "dataset_info.json").read_text())
    for entry in info.values():
        assert entry["formatting"] == "sharegpt" and (work / "dataset" / entry["file_name"]).is_file()
