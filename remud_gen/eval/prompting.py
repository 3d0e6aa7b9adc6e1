"""What the model is asked: the system turn of each question, and one request per sample."""

from __future__ import annotations

from dataclasses import dataclass, field

from remud_gen.dataset.system_prompts import SystemPrompts, read_system_prompts
from remud_gen.errors import ConfigError
from remud_gen.eval.items import EvalItem
from remud_gen.eval.settings import EvalSettings
from remud_gen.llm.request import ChatRequest, Message
from remud_gen.prompts import prompts_dir, read_yaml, sha256_of

LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class EvalPrompts:
    """The system prompt of each kind (the training records' table) and the budget-forcing word, per language."""

    instructions: SystemPrompts
    wait: dict[str, str] = field(default_factory=dict)

    @property
    def version(self) -> str:
        texts = [t for kind in sorted(self.instructions.by_kind) for t in self.instructions.by_kind[kind].values()]
        return sha256_of(*texts, *self.wait.values())[:16]

    def instruction(self, language: str, kind: str = "mcq") -> str:
        """The system prompt a training record of ``kind`` carries; "mcq"'s for kinds the table does not list."""
        return self.instructions.text(kind, language, fallback="mcq") or ""

    def wait_word(self, language: str) -> str:
        return self.wait.get(language, self.wait["en"])


def load_prompts(settings: EvalSettings) -> EvalPrompts:
    """Read the system prompt table (and the wait words when budget forcing is on) from the prompt folder."""
    folder = prompts_dir(settings.prompts_dir)
    instructions = read_system_prompts(folder, where="eval.prompts_dir")
    wait: dict[str, str] = {}
    if settings.budget_forcing.enabled:
        path = folder / settings.budget_forcing.words_file
        words = read_yaml(path).get("wait")
        if not isinstance(words, dict) or not all(isinstance(words.get(lang), str) for lang in LANGUAGES):
            raise ConfigError(f"{path} must map wait: to one word per language (zh:, en:)")
        wait = {lang: words[lang] for lang in LANGUAGES}
    return EvalPrompts(instructions, wait)


def system_text(item: EvalItem, settings: EvalSettings, prompts: EvalPrompts) -> str:
    """The system turn sent with ``item`` (see `EvalSettings.system_prompt`)."""
    instruction = prompts.instruction(item.language, item.kind)
    if item.system is None or settings.system_prompt == "instruction":
        return instruction
    if settings.system_prompt == "item" or item.system.strip() == instruction.strip():
        return item.system  # a record of this project already carries its kind's prompt: not twice
    return f"{item.system}\n\n{instruction}"


def sample_request(item: EvalItem, index: int, settings: EvalSettings, system: str) -> ChatRequest:
    """Sample ``index`` of ``item``: the same conversation, seed ``settings.seed + index``."""
    return ChatRequest(
        item=f"{item.id}#{index}",
        messages=[Message("system", system), *item.turns],
        params={
            "temperature": settings.temperature,
            "top_p": settings.top_p,
            "max_tokens": settings.max_tokens,
            "seed": settings.seed + index,
        },
        meta={"item": item.id, "sample": index},
    )
