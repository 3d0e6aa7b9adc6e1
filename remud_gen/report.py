"""What a stage hands back to its caller: counts, time and money, ready for the summary table and the manifest."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
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
    errors: dict[str, int] = field(default_factory=dict)  # failed items by failure class (http_500, unparseable...)

    @property
    def ok(self) -> bool:
        return self.failures == 0 and self.stopped is None

    def count_failures(self, kinds: Iterable[str]) -> None:
        """Set ``failures`` and ``errors`` from the failure class of each failed item."""
        self.errors = dict(Counter(kinds).most_common())
        self.failures = sum(self.errors.values())
