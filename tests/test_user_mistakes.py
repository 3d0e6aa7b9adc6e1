"""Mistakes a careless user makes on the command line: each is one line saying what is wrong and what to do, exit 2,
never an "internal error"."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from remud_gen.cli import app
from samplegen import write_sample

runner = CliRunner()


def one_line(result: Result, code: int = 2) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == code, result.stderr
    assert len(lines) == 1, result.stderr
    assert "internal error" not in lines[0] and "Traceback" not in lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("atlas")).pdfs[0]


@pytest.mark.parametrize("where", ["/proc/remud-gen-work", "{tmp}/a-file/sub", "/sys/remud-gen-work"])
def test_a_work_directory_that_cannot_be_written(tmp_path: Path, pdf: Path, where: str) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    out = where.format(tmp=tmp_path)
    line = one_line(runner.invoke(app, ["extract", str(pdf), "-o", out, "--workers", "1"]))
    assert out in line and "-o" in line


@pytest.mark.parametrize(
    "content",
    ["endpoint:\n  model: 超声模型\n".encode("gbk"), bytes(range(256)) * 8],
    ids=["gbk", "binary"],
)
def test_a_config_that_is_not_utf8_text(tmp_path: Path, content: bytes) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_bytes(content)
    line = one_line(runner.invoke(app, ["synthesize", str(tmp_path), "-c", str(cfg)]))
    assert str(cfg) in line and "UTF-8" in line


def test_an_empty_section_with_an_override_means_the_defaults(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("endpoint:\n  # fill in later\nextract:\n")
    result = runner.invoke(app, ["synthesize", str(tmp_path / "w"), "-c", str(cfg), "--model", "m"])
    assert "remud-gen extract" in one_line(result)  # the real problem: extract has not run


def test_a_section_that_is_not_a_mapping_with_an_override(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("endpoint: gpt-4o\n")
    line = one_line(runner.invoke(app, ["synthesize", str(tmp_path), "-c", str(cfg), "--model", "m"]))
    assert "endpoint" in line


def test_a_base_url_with_a_password_is_refused_without_showing_it(tmp_path: Path) -> None:
    url = "http://alice:hunter2-s3cret@127.0.0.1:9/v1"
    line = one_line(runner.invoke(app, ["synthesize", str(tmp_path), "--base-url", url]))
    assert "base_url" in line and "api_key_env" in line
    assert "hunter2-s3cret" not in line
