"""The `remud-gen` command line: each command parses options, loads the config, calls a stage and prints a summary.

All the work happens in the stage packages (`remud_gen.extract`, `remud_gen.synthesize`, `remud_gen.filter`), which
are usable from Python without this package.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from remud_gen import __version__
from remud_gen.cli import evaluate, init, serve, stages
from remud_gen.cli.common import out, state

app = typer.Typer(
    help="Turn ultrasound textbooks and guidelines (PDF, zh/en) into a grounded reasoning QA/VQA dataset.\n\n"
    "Example: remud-gen run books/ -o out/ -c configs/vllm-qwen2.5-vl.yaml",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        out.print(f"remud-gen {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    state["debug"] = debug


stages.register(app)
evaluate.register(app)
serve.register(app)
init.register(app)


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())
