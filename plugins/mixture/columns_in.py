"""Read a column in the unit a computation needs (units from the table, else a stated default)."""

from __future__ import annotations

import numpy as np

from toolkit.core import Table


def column_in(table: Table, name: str, unit: str) -> np.ndarray:
    """Values of ``name`` converted to ``unit``; a column without a unit is taken to be in ``unit``."""
    import astropy.units as u

    have = table.info[name].unit if name in table.info else None
    values = np.asarray(table.data[name], dtype=float)
    if not have or have == unit:
        return values
    try:
        return (values * u.Unit(have)).to_value(u.Unit(unit))
    except (u.UnitConversionError, ValueError) as exc:
        from toolkit.core import StageError
        raise StageError(f"column '{name}' has unit '{have}', which cannot be converted to '{unit}': {exc}") from None
