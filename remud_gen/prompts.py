"""Prompt files: finding them, reading them, and the hash that versions what a model was asked.

Prompts are files, never Python code: the packaged ones in `remud_gen/data/prompts/` (read through
`importlib.resources`, so an installed wheel or a zip works from any folder), or a user's folder that the config names
(`remud-gen init` writes an editable copy). A folder is a `Traversable`: a `Path` is one, and so is a folder in a zip.
"""

from __future__ import annotations

import hashlib
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template
from typing import Any

import yaml

from remud_gen.errors import ConfigError

PACKAGE_PROMPTS: Traversable = files("remud_gen") / "data" / "prompts"


def prompts_dir(configured: Path | None) -> Traversable:
    """The prompt folder: the configured one, else the packaged one."""
    folder = configured or PACKAGE_PROMPTS
    if not folder.is_dir():
        raise ConfigError(
            f"prompt folder {folder} does not exist; set prompts_dir to a folder of prompts "
            "(`remud-gen init` writes one) or leave it empty for the packaged prompts"
        )
    return folder


_TEXTS: dict[str, str] = {}  # keyed by the path's text: a Traversable need not be hashable


def read_text(path: Traversable) -> str:
    """A prompt file's text (read once: prompt files do not change during a run)."""
    key = str(path)
    text = _TEXTS.get(key)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read prompt file {path}: {exc.strerror or exc}") from exc
        _TEXTS[key] = text
    return text


def read_yaml(path: Traversable) -> dict[str, Any]:
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

    def __init__(self, path: Traversable) -> None:
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
