"""The filter stage: rule checks, grounding, near-duplicate removal, a grounded judge, and the final dataset."""

from __future__ import annotations

from typing import Any

from remud_gen.filter.settings import FilterSettings
from remud_gen.report import StageReport


def run(*args: Any, **kwargs: Any) -> StageReport:
    """Run the filter stage; see `remud_gen.filter.stage.run` (imported on use: it pulls in the model client)."""
    from remud_gen.filter.stage import run as run_stage

    return run_stage(*args, **kwargs)


__all__ = ["FilterSettings", "run"]
