"""The synthesize stage: a multimodal model writes QA / VQA items, each grounded in exactly one source unit."""

from remud_gen.synthesize.settings import SynthesizeSettings
from remud_gen.synthesize.stage import run

__all__ = ["SynthesizeSettings", "run"]
