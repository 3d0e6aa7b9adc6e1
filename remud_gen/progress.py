"""Live progress for long work: a rich bar with rate, tokens, cost, errors and ETA (only on a terminal)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

if TYPE_CHECKING:
    from remud_gen.llm.stats import RunStats

console = Console(stderr=True)


@contextlib.contextmanager
def request_progress(description: str, total: int) -> Iterator[Callable[[RunStats], None]]:
    """Yield a callback that updates a progress bar from the runner's running totals."""
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=False,
    )
    task = bar.add_task(description, total=total, rate="")
    shown = -1.0

    told = 0

    def update(stats: RunStats) -> None:
        # Called once per answer on the event loop; the bar redraws ten times a second, so more is wasted work there.
        nonlocal shown, told
        while told < len(stats.notices):  # printed whether or not the bar is shown (not a terminal: no bar)
            bar.console.print(f"{description}: {stats.notices[told]}", markup=False, highlight=False, soft_wrap=True)
            told += 1
        if bar.disable or (stats.elapsed - shown < 0.1 and stats.done < stats.total):
            return
        shown = stats.elapsed
        secs = max(stats.elapsed, 1e-6)
        tokens = stats.usage.prompt_tokens + stats.usage.completion_tokens
        rate = (
            f"{stats.done / secs:.1f} req/s  {tokens / secs:,.0f} tok/s  ${stats.usage.cost:.4f}  errors {stats.failed}"
        )
        bar.update(task, completed=stats.done, rate=rate)

    with bar:
        yield update


@contextlib.contextmanager
def count_progress(description: str, total: int, unit: str = "pages") -> Iterator[Callable[[int], None]]:
    """Yield a callback that advances a plain counting bar (extract counts pages)."""
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
    )
    task = bar.add_task(description, total=total)
    with bar:
        yield lambda n: bar.advance(task, n)
