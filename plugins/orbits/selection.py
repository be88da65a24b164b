"""Which rows get orbits: flagged rows plus a reference sample chosen row by row.

The reference sample must not depend on which other rows share the chunk (validators are
chunk-pure), so a row is chosen from a hash of its own id and the seed: it is in the sample
when the hash, read as a number in [0, 1), is below ``fraction``. ``fraction = 1`` takes every
row; the same id and seed always give the same answer, on any split of the table.
"""

from __future__ import annotations

import numpy as np

from toolkit.core import StageError, Table, unit_interval


def reference_mask(ids, fraction: float, seed: int) -> np.ndarray:
    """True for rows in the reference sample (all rows when ``fraction >= 1``)."""
    n = len(ids)
    if fraction >= 1.0:
        return np.ones(n, bool)
    if fraction <= 0.0:
        return np.zeros(n, bool)
    return unit_interval(ids, seed, "orbits.reference") < fraction


def find_flag_columns(table: Table, names: list[str] | None, stage: str) -> list[str]:
    """The named flag columns (each must exist) or every ``flag_*`` column."""
    if names is not None:
        table.require(names, stage)
        return list(names)
    return table.flag_columns()


def flagged_mask(table: Table, columns: list[str]) -> np.ndarray:
    """True where any of the flag columns is true (missing values count as not flagged)."""
    try:
        return table.flagged(columns)
    except (TypeError, ValueError) as exc:
        raise StageError(f"flag columns {columns} must be boolean (True = flagged): {exc}") from None
