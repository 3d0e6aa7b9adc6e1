"""Configuration: defaults, partial overlays, overrides, and one clear line for every mistake."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from remud_gen.config import Config, load_config, public
from remud_gen.config_doc import default_yaml
from remud_gen.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_default_yaml_is_what_the_models_say() -> None:
    assert (ROOT / "configs" / "default.yaml").read_text(encoding="utf-8") == default_yaml(), (
        "configs/default.yaml is stale: run `python -m remud_gen.config_doc`"
    )


def test_every_key_of_every_shipped_config_has_a_comment() -> None:
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if re.match(r"^\s*[\w.-]+:", line):
                assert "#" in line, f"{path.name}: key without a comment: {line.strip()}"


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_load(path: Path) -> None:
    load_config(path)


def test_default_file_equals_the_built_in_defaults() -> None:
    assert load_config(ROOT / "configs" / "default.yaml") == Config()


def test_partial_file_overlays_defaults(tmp_path: Path) -> None:
    cfg_file = tmp_path / "mine.yaml"
    cfg_file.write_text("endpoint:\n  model: gpt-4o\nfilter:\n  judge:\n    threshold: 4.2\n")
    cfg = load_config(cfg_file)
    assert cfg.endpoint.model == "gpt-4o" and cfg.filter.judge.threshold == 4.2
    assert cfg.endpoint.concurrency == Config().endpoint.concurrency


def test_command_line_wins_over_file(tmp_path: Path) -> None:
    cfg_file = tmp_path / "mine.yaml"
    cfg_file.write_text("endpoint:\n  model: gpt-4o\n  concurrency: 8\n")
    cfg = load_config(cfg_file, {"endpoint.model": "other", "endpoint.concurrency": None})
    assert cfg.endpoint.model == "other" and cfg.endpoint.concurrency == 8


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("endpoint:\n  modle: x\n", "endpoint.modle: unknown key"),
        ("endpoint:\n  concurrency: lots\n", "endpoint.concurrency"),
        ("extract:\n  dpi: [1, 2]\n", "extract.dpi"),
        ("- just\n- a list\n", "must be a YAML mapping"),
        ("endpoint: [unclosed\n", "is not valid YAML"),
        ("nonsense_section: 1\n", "nonsense_section: unknown key"),
        ("endpoint:\n  base_url: localhost:8000/v1\n", "is not an http(s) URL; write it as http://HOST:PORT/v1"),
        ("endpoint:\n  base_url: []\n", "give at least one base URL"),
    ],
)
def test_mistakes_are_one_clear_line(tmp_path: Path, text: str, expected: str) -> None:
    cfg_file = tmp_path / "bad.yaml"
    cfg_file.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(cfg_file)
    message = str(info.value)
    assert expected in message and "\n" not in message


def test_missing_config_file() -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(Path("/nonexistent/config.yaml"))


def test_public_blanks_secrets() -> None:
    cfg = load_config(None, {"extract.password": "hunter2"})
    assert "hunter2" not in str(public(cfg))
