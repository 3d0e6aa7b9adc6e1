"""What a stage hands back to its caller: counts, time and money, ready for the summary table and the manifest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from remud_gen.records import Usage


@dataclass
class StageReport:
    """The outcome of one stage run."""

    stage: str
    items_in: int = 0
    items_out: int = 0
    failures: int = 0
    seconds: float = 0.0
    usage: Usage = field(default_factory=Usage)
    skipped: bool = False
    stopped: str | None = None
    stop_reason: str = ""
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one line per bad input, printed to stderr
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.failures == 0 and self.stopped is None
