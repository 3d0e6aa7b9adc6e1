"""What a stage tells its user when requests fail: exit codes, counts and names of failures, what a re-run does."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from chunk_work import jsonl
from typer.testing import CliRunner

from remud_gen.cli import app
from remud_gen.stub import BackgroundStub

runner = CliRunner()


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


def chats(stub: BackgroundStub) -> int:
    return int(stub.stats()["by_path"].get("/v1/chat/completions", 0))


def test_another_mode_or_sampling_is_asked_anew_not_served_from_the_journal(extracted: Path, tmp_path: Path) -> None:
    work = fresh(extracted, tmp_path)
    with BackgroundStub() as stub:
        base = ["synthesize", str(work), "--base-url", stub.base_url, "--model", "stand-in", "--task", "qa"]
        for n, setting in enumerate(
            [
                "structured_output: prompt",
                "structured_output: json_schema",
                "temperature: 0.3\n  structured_output: json_schema",
            ]
        ):
            cfg = config(tmp_path, f"endpoint:\n  {setting}\n")
            before = chats(stub)
            result = runner.invoke(app, [*base, "-c", str(cfg)])
            assert result.exit_code == 0, result.output
            usage = json.loads((work / "manifest.json").read_text())["stages"]["synthesize"]["usage"]
            assert usage["from_journal"] == 0 and chats(stub) - before == usage["requests"] > 0, (n, setting)


def test_an_answer_that_did_not_parse_is_never_final(extracted: Path, tmp_path: Path) -> None:
    work = fresh(extracted, tmp_path)
    cfg = config(tmp_path, "endpoint:\n  structured_output: json_schema\n  max_reasks: 0\n")
    args = ["synthesize", str(work), "-c", str(cfg), "--model", "stand-in", "--task", "qa"]
    with BackgroundStub(fault_malformed=1.0) as broken:
        result = runner.invoke(app, [*args, "--base-url", broken.base_url])
    failed = jsonl(work / "synthesize" / "failures.jsonl")
    assert result.exit_code == 1 and failed and {f["error"] for f in failed} <= {"unparseable", "truncated"}
    with BackgroundStub() as healthy:
        result = runner.invoke(app, [*args, "--base-url", healthy.base_url])
        assert result.exit_code == 0, result.output
        assert chats(healthy) == len(failed), "the failed items are asked again; the parsed ones are not"
    assert jsonl(work / "synthesize" / "failures.jsonl") == []


def test_a_dry_run_counts_what_a_run_would_send(extracted: Path, tmp_path: Path) -> None:
    # answers that took a re-ask are journaled under the re-ask's key: a run sends nothing for them
    work = fresh(extracted, tmp_path)
    cfg = config(tmp_path, "endpoint:\n  structured_output: json_schema\n  max_reasks: 2\n")
    args = ["synthesize", str(work), "-c", str(cfg), "--model", "stand-in", "--task", "qa", "--task", "qa-reasoning"]
    with BackgroundStub(fault_malformed=0.5, max_faults_per_request=1) as stub:
        runner.invoke(app, [*args, "--base-url", stub.base_url])
        made = len(jsonl(work / "synthesize" / "samples.jsonl"))
        assert len(jsonl(work / "synthesize" / "journal.jsonl")) > made > 0, "some items took a re-ask"
        result = runner.invoke(app, [*args, "--base-url", stub.base_url, "--dry-run"])
        assert result.exit_code == 0, result.output
        would = int(re.search(r"would send (\d+) requests", result.output).group(1))  # type: ignore[union-attr]
    with BackgroundStub() as healthy:
        runner.invoke(app, [*args, "--base-url", healthy.base_url])
        assert chats(healthy) == would
    usage = json.loads((work / "manifest.json").read_text())["stages"]["synthesize"]["usage"]
    assert would == usage["requests"] - usage["from_journal"] < usage["requests"]
