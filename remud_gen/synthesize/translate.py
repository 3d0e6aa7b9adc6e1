"""`--language both`: a translation pass that turns each item into the other language, keeping its evidence.

The item is sent as the JSON the task's schema describes (with MCQ options already in their balanced order), so the
answer is parsed by the same parser as a generated item, and the translated item keeps the option order and key of
the original. Evidence stays verbatim in the source language: it must still be found in the source.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from typing import Any

from remud_gen.llm.request import ChatRequest, Message
from remud_gen.prompts import ChatPrompt, read_yaml
from remud_gen.records import Language, Sample
from remud_gen.synthesize.answers import answer_parser
from remud_gen.synthesize.plan import Job


@dataclass(frozen=True)
class Original:
    """A generated item waiting for its translation."""

    sample: Sample
    value: dict[str, Any]
    job: Job

    @property
    def target(self) -> Language:
        return "en" if self.sample.language == "zh" else "zh"


def item_value(original: Original) -> dict[str, Any]:
    """The item as its schema's JSON, with the options and key in the order the sample holds them."""
    value = dict(original.value)
    if original.sample.thinking:
        value["thinking"] = original.sample.thinking  # the trace may have come from reasoning_content
    if original.sample.options is not None:
        value["options"] = original.sample.options
        value["answer"] = original.sample.answer
    return value


def translation_requests(originals: list[Original], folder: Traversable) -> Iterator[ChatRequest]:
    """One request per item, asking for the same schema in the other language."""
    prompts = {lang: ChatPrompt(folder / f"translate.{lang}.md") for lang in ("zh", "en")}
    names = {lang: read_yaml(folder / f"rules.{lang}.yaml")["language_name"][lang] for lang in ("zh", "en")}
    for original in originals:
        task, target = original.job.task, original.target
        system, user = prompts[target].render(
            item=json.dumps(item_value(original), ensure_ascii=False, indent=1), language_name=names[target]
        )
        yield ChatRequest(
            item=f"translate:{original.sample.sample_id}:{target}",
            messages=[Message("system", system), Message("user", user)],
            schema=task.schema,
            schema_name=task.kind.replace("-", "_"),
            prompt_version=f"{task.version}:{prompts[target].sha256[:12]}",
            parse=answer_parser(task),
            meta={"original": original},
        )
