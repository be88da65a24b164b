"""Helpers for testing components, for built-in and third-party plugins alike."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .component import Cut, Feature, Validator
from .context import RunContext
from .table import Table


def run_rowwise(component, table: Table, ctx: RunContext) -> pd.DataFrame:
    """What a row-wise component gives for ``table``, as a DataFrame with one row per input row:
    a cut's mask as one boolean column ``mask``; a feature's or a row-wise validator's new columns.

    An output of another length is an AssertionError naming the component and the column (not a
    NumPy broadcast error later)."""
    if isinstance(component, Cut):
        out = {"mask": np.asarray(component.mask(table, ctx), bool)}
    elif isinstance(component, Feature):
        out = dict(component.compute(table, ctx).data)
    elif isinstance(component, Validator):
        out = dict(component.validate(table, ctx).columns.data)
    else:
        raise TypeError(f"{component!r} is not row-wise")
    for name, values in out.items():
        got = np.shape(values)[0] if np.ndim(values) else None
        assert got == len(table), (f"{component.kind} '{component.name}' returned {got if got is not None else 'a scalar'}"
                                   f" values for '{name}' on a chunk of {len(table)} rows; a row-wise component "
                                   "must return one value per row")
    return pd.DataFrame(out)


def assert_chunk_pure(component, table: Table, n_chunks: int = 3, ctx: RunContext | None = None,
                      rtol: float = 1e-10, atol: float = 0.0) -> None:
    """Check that running on any split of the rows gives the same rows as on the whole table."""
    ctx = ctx or RunContext(seed=0, show_progress=False)
    whole = run_rowwise(component, table, ctx)
    parts = pd.concat([run_rowwise(component, part, ctx) for part in table.split(n_chunks)], ignore_index=True)
    assert list(whole.columns) == list(parts.columns), "chunks produced different columns"
    for name in whole.columns:
        a, b = whole[name].to_numpy(), parts[name].to_numpy()
        if a.dtype.kind in "fc":
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True,
                                       err_msg=f"column '{name}' differs between whole table and chunks")
        else:
            assert (a == b).all(), f"column '{name}' differs between whole table and chunks"
