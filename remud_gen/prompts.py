"""Prompt files: finding them, reading them, and the hash that versions what a model was asked.

Prompts live in `prompts/` beside the package (or the folder the config names), never in Python code.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Any

import yaml

from remud_gen.errors import ConfigError

PACKAGE_PROMPTS = Path(__file__).resolve().parents[1] / "prompts"


def prompts_dir(configured: Path | None) -> Path:
    """The prompt folder: the configured one, else the project's own."""
    folder = configured or PACKAGE_PROMPTS
    if not folder.is_dir():
        raise ConfigError(f"prompt folder {folder} does not exist; set synthesize.prompts_dir to the folder of prompts")
    return folder


@lru_cache(maxsize=256)
def read_text(path: Path) -> str:
    """A prompt file's text (cached: prompt files do not change during a run)."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read prompt file {path}: {exc.strerror}") from exc


def read_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(read_text(path)) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a YAML mapping")
    return data


def sha256_of(*texts: str) -> str:
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


class ChatPrompt:
    """A prompt file with a `[system]` and a `[user]` section, each a `string.Template` (`$name` placeholders)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.text = read_text(path)
        self.sha256 = sha256_of(self.text)
        system, sep, user = self.text.partition("[user]")
        if not sep:
            raise ConfigError(f"prompt {path} has no [user] section; write '[system]' and '[user]' headers")
        self.system = Template(system.replace("[system]", "", 1).strip())
        self.user = Template(user.strip())

    def render(self, **values: str) -> tuple[str, str]:
        """System and user text with placeholders filled; a missing value is a configuration error."""
        try:
            return self.system.substitute(values), self.user.substitute(values)
        except KeyError as exc:
            raise ConfigError(f"prompt {self.path} uses ${exc.args[0]}, which the stage does not provide") from exc
