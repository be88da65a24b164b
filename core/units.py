"""Read a table column in the unit a computation needs: the one helper every component uses.

Tables carry units beside the data (``Table.info[name].unit``), but many files have none (CSV,
hand-made FITS). A component states the unit it computes in and what a unit-less column means;
a column in another, convertible unit is converted; one that cannot be converted is a StageError
naming the step and the column, never a wrong number.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import StageError
from .table import Table

#: ``default_unit`` sentinel: a column without a unit is taken to be in the unit asked for
SAME = "same"


def column_in(table: Table, name: str, unit: str, *, default_unit: str | None = SAME, stage: str = "",
              hint: str = "") -> np.ndarray:
    """The column ``name`` as float values in ``unit``.

    A column without a unit is taken to be in ``default_unit``: the unit asked for (the default),
    another unit (e.g. ``"pc"`` for a distance column that is known to be in parsecs), or ``None``
    to refuse it (the scale is unknown). ``stage`` names the step in errors; ``hint`` is appended
    to them (how to give the column a unit).
    """
    import astropy.units as u

    where = f"stage '{stage}': " if stage else ""
    if stage:
        table.require([name], stage)
    have = table.info[name].unit if name in table.info else None
    values = np.asarray(table.data[name], dtype=float)
    if not have:
        if default_unit is None:
            raise StageError(f"{where}column '{name}' carries no unit, so its scale is unknown. Give it one at "
                             f"the source (e.g. table.file `units: {{{name}: {unit}}}`){'; ' + hint if hint else ''}")
        have = unit if default_unit == SAME else default_unit
    if have == unit:
        return values
    try:
        return (values * u.Unit(have)).to_value(u.Unit(unit))
    except (u.UnitConversionError, ValueError, TypeError) as exc:
        raise StageError(f"{where}column '{name}' has unit '{have}', which cannot be converted to '{unit}' "
                         f"({exc}){'; ' + hint if hint else ''}") from None


def quantity_in(table: Table, name: str, unit: str, **kw: Any):
    """``column_in`` as an astropy Quantity in ``unit`` (same arguments)."""
    import astropy.units as u

    return column_in(table, name, unit, **kw) * u.Unit(unit)
