"""What a stage tells its user when requests fail: exit codes, counts and names of failures, what a re-run does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from remud_gen.cli import app
from remud_gen.sample import write_sample
from remud_gen.stub import BackgroundStub

runner = CliRunner()


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A work directory after extract of the generated atlas."""
    atlas = tmp_path_factory.mktemp("atlas")
    write_sample(atlas)
    work = tmp_path_factory.mktemp("work")
    result = runner.invoke(app, ["extract", str(atlas), "-o", str(work), "--workers", "1"])
    assert result.exit_code == 0, result.output
    return work


def fresh(extracted: Path, tmp_path: Path) -> Path:
    work = tmp_path / "work"
    shutil.copytree(extracted, work)
    return work


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_budget_stop_still_counts_and_names_the_failures(extracted: Path, tmp_path: Path) -> None:
    work = fresh(extracted, tmp_path)
    cfg = config(tmp_path, "endpoint:\n  max_retries: 0\n  structured_output: json_schema\n")
    with BackgroundStub(fault_500=1.0) as stub:
        args = ["synthesize", str(work), "-c", str(cfg), "--base-url", stub.base_url, "--model", "stand-in"]
        result = runner.invoke(app, [*args, "--task", "qa", "--limit", "3"])
    assert result.exit_code == 4, result.output
    assert "3 item(s) failed (http_500: 3)" in result.output
    assert "higher budget" in result.output
    assert len(jsonl(work / "synthesize" / "failures.jsonl")) == 3
