"""vqa-compare: one item over every panel of a figure, asking what differs, as ReMUD's multi-image exam items do."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from chunk_work import jsonl
from typer.testing import CliRunner

from remud_gen.cli import app
from remud_gen.synthesize.settings import SynthesizeSettings

runner = CliRunner()


@pytest.fixture(scope="module")
def compared(stub: Any, extracted: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = shutil.copytree(extracted, tmp_path_factory.mktemp("compare") / "work")
    cfg = work / "c.yaml"
    cfg.write_text("synthesize:\n  tasks: [vqa-compare]\nfilter:\n  judge:\n    enabled: false\n", encoding="utf-8")
    endpoint = ["-c", str(cfg), "--base-url", stub.base_url, "--model", "stand-in"]
    for stage in ("synthesize", "filter"):
        result = runner.invoke(app, [stage, str(work), *endpoint])
        assert result.exit_code == 0, result.output
    return work


def test_not_in_the_default_mix() -> None:
    assert "vqa-compare" not in SynthesizeSettings().tasks


def test_one_item_per_figure_with_its_panels_in_order(compared: Path) -> None:
    figures = jsonl(compared / "extract" / "figures.jsonl")
    panels: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for f in figures:
        if f["figure_id"] and f["panel"] and (f["is_ultrasound"]):
            panels.setdefault((f["doc"], f["figure_id"]), []).append(f)
    groups = {k: sorted(v, key=lambda f: f["panel"]) for k, v in panels.items() if len(v) >= 2}
    samples = jsonl(compared / "synthesize" / "samples.jsonl")
    assert len(groups) >= 2 and len(samples) == len(groups)
    for s in samples:
        assert s["kind"] == "vqa-compare" and s["thinking"]
        group = groups[(s["source"]["doc"], s["source"]["figure_id"])]
        assert s["images"] == [f["image"] for f in group]  # every panel, in letter order
        assert s["source"]["panel"] == "+".join(f["panel"] for f in group)


def test_the_records_show_each_image_once_in_order(compared: Path) -> None:
    dataset = compared / "dataset"
    records = [r for p in sorted(dataset.glob("remud-*-of-*.json")) for r in json.loads(p.read_text("utf-8"))]
    assert records, "the filter kept no vqa-compare item"
    for r in records:
        human = [t for t in r["conversations"] if t["from"] == "human"]
        assert len(r["images"]) >= 2 and human[0]["value"].startswith("<image>" * len(r["images"]))
        assert sum(t["value"].count("<image>") for t in r["conversations"]) == len(r["images"])
        assert all((dataset / i).is_file() for i in r["images"])
        assert r["conversations"][-1]["value"].startswith("<think>\n")
        mine = (Path(__file__).parents[1] / "prompts" / f"system_reasoning_{r['language']}.txt").read_text("utf-8")
        assert r["conversations"][0] == {"from": "system", "value": mine.strip()}
