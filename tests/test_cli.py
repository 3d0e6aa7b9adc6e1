"""The command line as a user meets it: help with examples, one clear line for every mistake, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from remud_gen.cli import app

runner = CliRunner()
COMMANDS = ["init", "extract", "synthesize", "filter", "run", "split", "eval", "stub-server"]


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes is not None else "")


def test_top_level_help_lists_commands_and_an_example() -> None:
    code, output = invoke("--help")
    assert code == 0 and "Example" in output
    for command in COMMANDS:
        assert command in output


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_help_has_an_example(command: str) -> None:
    code, output = invoke(command, "--help")
    assert code == 0 and "Example" in output and f"remud-gen {command}" in output


@pytest.mark.parametrize("command", COMMANDS)
def test_help_names_what_each_option_takes(command: str) -> None:
    """Options show a word for their value (URL, N, FILE) or their choices, never a Python type like <list[str]>."""
    code, output = invoke(command, "--help")
    options = output[output.index("Options:") :]
    assert code == 0
    for python_type in ("<str>", "<int>", "<float>", "<path>", "<list[str]>", "<list[Path]>"):
        assert python_type not in options, (python_type, options)


@pytest.mark.parametrize(
    ("args", "choices"),
    [
        (["extract", "in.pdf", "-o", "w", "--detector", "yolo"], "'analysis', 'vlm'"),
        (["extract", "in.pdf", "-o", "w", "--images", "pages"], "'auto', 'page', 'figure'"),
        (["synthesize", "w", "--language", "fr"], "'auto', 'zh', 'en', 'both'"),
        (["filter", "w", "--format", "csv"], "'sharegpt', 'openai', 'hf'"),
    ],
)
def test_a_choice_outside_the_list_is_refused_before_any_work(tmp_path: Path, args: list[str], choices: str) -> None:
    """A misspelt choice stops with exit 2 and the choices, before a work directory is touched."""
    code, output = invoke(*[a if a != "w" else str(tmp_path / "w") for a in args])
    assert code == 2 and choices in output
    assert not (tmp_path / "w").exists()


def test_missing_input_is_one_line_and_nonzero(tmp_path: Path) -> None:
    code, output = invoke("extract", str(tmp_path / "nope.pdf"), "-o", str(tmp_path / "w"))
    assert code != 0
    assert "nope.pdf does not exist" in output and "Traceback" not in output


def test_unknown_config_key(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("endpoint:\n  modle: x\n")
    code, output = invoke("synthesize", str(tmp_path), "-c", str(cfg))
    assert code == 2 and "endpoint.modle: unknown key" in output and "Traceback" not in output


def test_wrong_type_on_command_line_config(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("endpoint:\n  concurrency: many\n")
    code, output = invoke("filter", str(tmp_path), "-c", str(cfg))
    assert code == 2 and "endpoint.concurrency" in output


def test_incompatible_work_directory_is_left_alone(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"format_version": 99, "stages": {}}))
    code, output = invoke("extract", str(tmp_path / "x.pdf"), "-o", str(tmp_path))
    assert code == 2 and "incompatible" in output
    assert json.loads(manifest.read_text())["format_version"] == 99


def test_synthesize_before_extract_says_what_to_run(tmp_path: Path) -> None:
    code, output = invoke("synthesize", str(tmp_path))
    assert code == 2 and "remud-gen extract" in output


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--debug", "synthesize", str(tmp_path)])
    assert result.exit_code == 2


def test_bad_fault_spec_for_the_stub(tmp_path: Path) -> None:
    code, output = invoke("stub-server", "--fault", "429")
    assert code == 2 and "NAME=RATE" in output


def test_the_stub_imitates_only_servers_it_knows(tmp_path: Path) -> None:
    code, output = invoke("stub-server", "--like", "nonsense")
    assert code == 2 and "llama-cpp" in output
