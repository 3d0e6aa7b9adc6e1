"""`remud-gen init`: write a starter config and an editable prompt folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from remud_gen.cli.common import guarded, out


def init(
    folder: Annotated[Path, typer.Argument(help="Folder to write into (created when missing).")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that exist.")] = False,
) -> None:
    """Write FOLDER/remud-gen.yaml (every setting, commented) and FOLDER/prompts/ (the prompts, zh and en, to edit).

    The config's prompt folders point at the copy, so what you change there is what the model is asked.

    \b
    Example:
      remud-gen init mine/
      remud-gen run books/ -o out/ -c mine/remud-gen.yaml
    """
    from remud_gen.starter import write_starter

    written = write_starter(folder, force=force)
    config = next(p for p in written if p.suffix == ".yaml" and p.parent == folder.resolve())
    out.print(f"wrote {config} and {len(written) - 1} prompt files in {config.parent / 'prompts'}", soft_wrap=True)
    out.print(f"next: remud-gen run BOOKS -o WORK -c {config}", soft_wrap=True, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("init", short_help="Write a starter config and an editable prompt folder.")(guarded(init))
