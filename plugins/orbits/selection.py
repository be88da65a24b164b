"""Which rows get orbits: flagged rows plus a reference sample chosen row by row.

The reference sample must not depend on which other rows share the chunk (validators are
chunk-pure), so a row is chosen from a hash of its own id and the seed: it is in the sample
when the hash, read as a number in [0, 1), is below ``fraction``. ``fraction = 1`` takes every
row; the same id and seed always give the same answer, on any split of the table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.core import StageError, Table

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """A well-mixed 64-bit hash of each element (wrapping uint64 arithmetic)."""
    x = np.asarray(x, dtype=np.uint64).copy()
    with np.errstate(over="ignore"):
        x += _GOLDEN
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def unit_hash(ids, seed: int) -> np.ndarray:
    """A number in [0, 1) for each id, fixed by (id, seed) alone."""
    values = np.asarray(ids)
    if values.dtype.kind not in "iub":
        values = values.astype(str).astype(object)
    base = pd.util.hash_array(values, categorize=False)
    seeded = np.full(1, int(seed) % 2**64, dtype=np.uint64)
    mixed = _splitmix64(base ^ _splitmix64(seeded)[0])
    return (mixed >> np.uint64(11)).astype(np.float64) / float(2**53)


def reference_mask(ids, fraction: float, seed: int) -> np.ndarray:
    """True for rows in the reference sample (all rows when ``fraction >= 1``)."""
    n = len(ids)
    if fraction >= 1.0:
        return np.ones(n, bool)
    if fraction <= 0.0:
        return np.zeros(n, bool)
    return unit_hash(ids, seed) < fraction


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
