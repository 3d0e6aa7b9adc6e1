"""Scoring a model on the generated data (`eval`) and holding out a test set that does not leak (`split`).

split.py, draw.py, overlap.py, shardset.py   the test split, its stratified draw, leak checks and files
items.py, prompting.py, forcing.py           what is asked: questions, system turns, budget forcing
extract_answer.py, outcome.py, passk.py      how answers are read and scored: letters, pass@1, intervals
run.py                                       the eval stage
"""

from remud_gen.eval.settings import BudgetForcingSettings, EvalSettings, SplitSettings

__all__ = ["BudgetForcingSettings", "EvalSettings", "SplitSettings"]
