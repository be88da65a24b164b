"""The one place that pairs a detector step with its columns: ``score_<step>`` and ``flag_<step>``.

A detector step named ``ae`` writes ``score_ae`` (higher = more anomalous) and ``flag_ae`` (True
= flagged by the step's threshold). Validators, figures, the review app and ``toolkit score`` find
a step's columns, or the flag that belongs to a score, through these helpers, not by string slicing.
"""

from __future__ import annotations

from typing import Iterable

SCORE_PREFIX = "score_"
FLAG_PREFIX = "flag_"
#: a seed ensemble's ``votes_<step>``: the share of its members that would flag the row alone
VOTES_PREFIX = "votes_"


def score_column(step: str) -> str:
    """``score_<step>``: the step's anomaly score column."""
    return f"{SCORE_PREFIX}{step}"


def flag_column(step: str) -> str:
    """``flag_<step>``: the step's boolean flag column."""
    return f"{FLAG_PREFIX}{step}"


def votes_column(step: str) -> str:
    """``votes_<step>``: the share of a seed ensemble's members whose own score reaches the step's cut."""
    return f"{VOTES_PREFIX}{step}"


def is_score(column: str) -> bool:
    return column.startswith(SCORE_PREFIX)


def is_flag(column: str) -> bool:
    return column.startswith(FLAG_PREFIX)


def step_of(column: str) -> str | None:
    """The step a ``score_``/``flag_`` column belongs to; None for any other column."""
    for prefix in (SCORE_PREFIX, FLAG_PREFIX):
        if column.startswith(prefix):
            return column[len(prefix):]
    return None


def flag_for(score: str) -> str | None:
    """The flag column paired with a score column (``score_ae`` -> ``flag_ae``); None if not a score."""
    return flag_column(score[len(SCORE_PREFIX):]) if is_score(score) else None


def score_for(flag: str) -> str | None:
    """The score column paired with a flag column (``flag_ae`` -> ``score_ae``); None if not a flag."""
    return score_column(flag[len(FLAG_PREFIX):]) if is_flag(flag) else None


def score_columns(columns: Iterable[str]) -> list[str]:
    """The ``score_*`` columns among ``columns``, in their order."""
    return [c for c in columns if is_score(c)]


def flag_columns(columns: Iterable[str]) -> list[str]:
    """The ``flag_*`` columns among ``columns``, in their order."""
    return [c for c in columns if is_flag(c)]
