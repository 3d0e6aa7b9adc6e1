"""The system turn of each item kind, one table for the training records and for `remud-gen eval`.

prompts/system_prompts.yaml maps a kind to a name; <name>_zh.txt and <name>_en.txt hold the text. Multiple-choice
kinds get the instruction ReMUD evaluates with (think, then `<answer>X</answer>`), so a model is asked test
questions under the prompt it was trained with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources.abc import Traversable

from remud_gen.errors import ConfigError
from remud_gen.prompts import read_text, read_yaml

TABLE = "system_prompts.yaml"
LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class SystemPrompts:
    """System prompt text by kind and language; "default" serves kinds not listed, "mcq" eval's unlisted kinds."""

    by_kind: Mapping[str, Mapping[str, str]]

    @classmethod
    def same(cls, by_language: Mapping[str, str]) -> SystemPrompts:
        """The same prompt for every kind (a dataset that does not tell kinds apart)."""
        return cls({"default": dict(by_language)})

    def text(self, kind: str, language: str, fallback: str = "default") -> str | None:
        """The system turn of an item of ``kind`` in ``language`` (None: the item has none)."""
        by_lang = self.by_kind.get(kind, self.by_kind.get(fallback, {}))
        return by_lang.get(language) or by_lang.get("en") or None


def read_system_prompts(
    folder: Traversable, table: str = TABLE, *, where: str = "filter.output.system_prompts"
) -> SystemPrompts:
    """Read the table and every prompt file it names from the prompt folder.

    Raises:
        ConfigError: the table is missing or malformed, or names a file that cannot be read.
    """
    if not table:
        return SystemPrompts({})
    names = read_yaml(folder / table)
    if not all(isinstance(k, str) and isinstance(v, str | None) for k, v in names.items()):
        raise ConfigError(f"{where}: {folder / table} must map each kind to a prompt name (a string)")
    texts: dict[str, dict[str, str]] = {}
    for kind, name in names.items():
        texts[kind] = {lang: read_text(folder / f"{name}_{lang}.txt").strip() for lang in LANGUAGES} if name else {}
    return SystemPrompts(texts)
