"""What every command shares: option types, error handling, the summary table and the exit status."""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from remud_gen.config import Config, api_key
from remud_gen.errors import RemudError
from remud_gen.llm.access import ModelAccess
from remud_gen.redact import redact
from remud_gen.report import StageReport

out = Console()
err = Console(stderr=True)
state = {"debug": False}
F = TypeVar("F", bound=Callable[..., Any])

ConfigOpt = Annotated[
    Path | None, typer.Option("-c", "--config", metavar="FILE", help="YAML file overlaid on the defaults.")
]
WorkArg = Annotated[Path, typer.Argument(metavar="WORK", help="The work directory (the -o of extract).")]
BaseUrlOpt = Annotated[
    list[str] | None, typer.Option("--base-url", metavar="URL", help="OpenAI-compatible base URL (repeat for a fleet).")
]
ModelOpt = Annotated[str | None, typer.Option("--model", metavar="NAME", help="Model name sent to the endpoint.")]
ConcurrencyOpt = Annotated[int | None, typer.Option("--concurrency", metavar="N", help="Requests in flight at once.")]
LimitOpt = Annotated[int | None, typer.Option("--limit", metavar="N", help="Stop cleanly after this many requests.")]
MaxCostOpt = Annotated[
    float | None, typer.Option("--max-cost", metavar="USD", help="Stop cleanly once this many USD are spent.")
]
BatchOpt = Annotated[bool, typer.Option("--batch", help="Use the OpenAI Batch API (cheaper, within 24 h; resumable).")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Count and price the requests; send nothing.")]


def guarded(fn: F) -> F:
    """Turn user and endpoint errors into one line and an exit code; tracebacks only with --debug."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RemudError as exc:
            if state["debug"]:
                traceback.print_exc()
            error(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except OSError as exc:
            # A path given on the command line that cannot be used (permissions, a full or read-only disk, a file
            # where a folder should be): the user's to fix, like a missing input.
            if state["debug"]:
                traceback.print_exc()
            where = f"{exc.filename}: " if exc.filename else ""
            error(f"{where}{exc.strerror or exc}; check the path, its permissions and the free space")
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err.print("interrupted: finished work is saved; run the same command again to resume")
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            if state["debug"]:
                raise
            err.print(
                "[bold red]internal error:[/] "
                + escape(redact(f"{type(exc).__name__}: {exc}"))
                + " (a bug: re-run with --debug and report it)",
                markup=True,
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def error(message: str) -> None:
    """Print one `error:` line on stderr, with any secret the process holds masked."""
    err.print("[bold red]error:[/] " + escape(redact(message)), markup=True, highlight=False, soft_wrap=True)


def endpoint_overrides(base_url: list[str] | None, model: str | None, concurrency: int | None) -> dict[str, Any]:
    return {"endpoint.base_url": base_url or None, "endpoint.model": model, "endpoint.concurrency": concurrency}


def summary(reports: list[StageReport]) -> None:
    """The table every stage ends with."""
    table = Table(title="remud-gen summary", title_justify="left")
    for col in ("stage", "items in", "items out", "failures", "time", "tokens", "cost"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    for r in reports:
        tokens = r.usage.prompt_tokens + r.usage.completion_tokens
        state = " (skipped)" if r.skipped else f" ({r.stopped})" if r.stopped else ""
        table.add_row(
            r.stage + state,
            str(r.items_in),
            str(r.items_out),
            str(r.failures),
            f"{r.seconds:.1f}s",
            f"{tokens:,}",
            f"${r.usage.cost:.4f}",
        )
    out.print(table)
    for r in reports:
        if r.skipped:
            out.print(f"{r.stage}: up to date (same inputs and config): nothing to do", highlight=False, soft_wrap=True)
        for note in r.notes:
            out.print(redact(f"{r.stage}: {note}"), markup=False, highlight=False, soft_wrap=True)


def finish(reports: list[StageReport]) -> None:
    """Print the summary and exit non-zero when any stage failed items or stopped early."""
    summary(reports)
    for r in reports:
        for problem in r.problems:
            error(problem)
    failed = _failed(reports)
    stopped = next((r.stopped for r in reports if r.stopped), None)
    if stopped == "endpoint":
        reason = next(r.stop_reason for r in reports if r.stopped)
        error(f"stopped: {reason}; fix the endpoint settings and run again (answers so far are journaled)")
        raise typer.Exit(3)
    # A stop does not hide what failed before it: a budget that ran out on failing requests says so.
    if failed:
        err.print(failed, highlight=False, soft_wrap=True)
    if stopped == "interrupted":
        err.print("interrupted: answered requests are journaled; run the same command again to resume")
        raise typer.Exit(130)
    if stopped:
        err.print(f"stopped early ({stopped}); run again with a higher budget to continue")
        raise typer.Exit(4)
    if failed:
        raise typer.Exit(1)


def _failed(reports: list[StageReport]) -> str:
    """One line counting and naming the failed items of every stage ('' when none failed)."""
    count = sum(r.failures for r in reports)
    if not count:
        return ""
    kinds: dict[str, int] = {}
    for r in reports:
        for kind, n in r.errors.items():
            kinds[kind] = kinds.get(kind, 0) + n
    named = f" ({', '.join(f'{kind}: {n}' for kind, n in kinds.items())})" if kinds else ""
    return f"{count} item(s) failed{named}: see the failures.jsonl of each stage in WORK"


def model_access(cfg: Config) -> ModelAccess:
    """What a stage is handed to reach the configured endpoint: its settings, the key from the environment."""
    return ModelAccess(cfg.endpoint, api_key(cfg.endpoint))
