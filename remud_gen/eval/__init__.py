"""Scoring a model on the generated data: the `eval` command (the test split is made by remud_gen.dataset).

items.py, prompting.py, forcing.py           what is asked: questions, system turns, budget forcing
extract_answer.py, outcome.py, passk.py      how answers are read and scored: letters, pass@1, intervals
run.py                                       the eval stage
"""

from remud_gen.eval.settings import BudgetForcingSettings, EvalSettings

__all__ = ["BudgetForcingSettings", "EvalSettings"]
