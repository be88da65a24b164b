"""Helpers for testing components, for built-in and third-party plugins alike."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .component import Cut, Feature, Validator
from .context import RunContext
from .table import Table


def run_rowwise(component, table: Table, ctx: RunContext):
    """What a row-wise component gives for ``table``: a mask (cut) or a DataFrame of new columns."""
    if isinstance(component, Cut):
        return pd.DataFrame({"mask": np.asarray(component.mask(table, ctx), bool)})
    if isinstance(component, Feature):
        return pd.DataFrame(component.compute(table, ctx).data)
    if isinstance(component, Validator):
        return pd.DataFrame(component.validate(table, ctx).columns.data)
    raise TypeError(f"{component!r} is not row-wise")


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
