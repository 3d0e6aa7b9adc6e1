"""The synthesize stage: a multimodal model writes QA / VQA items, each grounded in exactly one source unit."""

from __future__ import annotations

from typing import Any

from remud_gen.report import StageReport
from remud_gen.synthesize.settings import SynthesizeSettings


def run(*args: Any, **kwargs: Any) -> StageReport:
    """Run the synthesize stage; see `remud_gen.synthesize.stage.run` (imported on use: it pulls in the client)."""
    from remud_gen.synthesize.stage import run as run_stage

    return run_stage(*args, **kwargs)


__all__ = ["SynthesizeSettings", "run"]
