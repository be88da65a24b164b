"""Turn any astropy table of known objects into the catalogue shape: ``name``, ``ra``, ``dec`` (deg).

Shared by the VizieR catalogues and ``catalogs.file``, so that a VizieR answer
and a CSV export of the same catalogue give the same table.
"""

from __future__ import annotations

import re
from typing import Callable

import numpy as np

from toolkit.core import Columns, StageError, Table
from toolkit.core import RunContext

from .coordinates import angles_to_degrees, detect_position_columns, split_to_degrees

RESERVED = ("name", "ra", "dec")


def short_name_of(text: str) -> str:
    """A column-safe short name: ``'Belczynski+ 2000'`` -> ``'belczynski_2000'``."""
    short = re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").lower()
    if not short:
        raise StageError(f"cannot make a short name out of {text!r}; give `short_name`")
    return short


def position_columns_of(tab, *, ra_column=None, dec_column=None, name_column=None, where="table"):
    def numeric(col):
        return tab[col].dtype.kind in "fiu"
    return detect_position_columns(tab.colnames, numeric, ra=ra_column, dec=dec_column, name=name_column,
                                   where=where)


def sky_positions(tab, cols, *, where: str, row_label: Callable[[int], str] | None = None):
    """(ra, dec) in degrees from an astropy table and detected ``PositionColumns``."""
    kw = {"where": where}
    if row_label is not None:
        kw["row_label"] = row_label
    if cols.split:
        return split_to_degrees(lambda c: tab[c], cols.split)
    ra = angles_to_degrees(tab[cols.ra], "ra", unit=tab[cols.ra].unit, column=cols.ra, **kw)
    dec = angles_to_degrees(tab[cols.dec], "dec", unit=tab[cols.dec].unit, column=cols.dec, **kw)
    return ra, dec


def _names(tab, column: str | None, short: str) -> np.ndarray:
    if column is None:
        return np.array([f"{short}#{i + 1}" for i in range(len(tab))], dtype=object)
    col = tab[column]
    values = np.ma.filled(col.astype(str), "") if np.ma.isMaskedArray(col) else np.asarray(col).astype(str)
    return np.array([v.strip() for v in values], dtype=object)


def known_object_table(tab, *, short_name: str, where: str, ra_column=None, dec_column=None,
                       name_column=None, row_label=None, meta: dict | None = None, ctx: RunContext | None = None) -> Table:
    """The catalogue as a Table: ``name``, ``ra``, ``dec`` first, the source's other columns after.

    Rows without a position are dropped (and counted in ``meta['dropped_no_position']``);
    a row whose position does not parse is an error naming it.
    """
    cols = position_columns_of(tab, ra_column=ra_column, dec_column=dec_column, name_column=name_column,
                               where=where)
    ra, dec = sky_positions(tab, cols, where=where, row_label=row_label)
    names = _names(tab, cols.name, short_name)
    if cols.name is None and ctx is not None:
        ctx.warn(f"{where}: no name column found (looked for Name, Star, Object, ID, ...); objects are "
                 f"called {short_name}#<row>. Name one with name_column.")
    table = Table.from_astropy(tab)
    keep = np.isfinite(ra) & np.isfinite(dec)
    out = Columns()
    out.add("name", names, description=f"object name (from column '{cols.name}')" if cols.name
            else "row number in the catalogue")
    out.add("ra", ra, unit="deg", description=f"right ascension, ICRS/J2000 (from {cols.describe()})")
    out.add("dec", dec, unit="deg", description=f"declination, ICRS/J2000 (from {cols.describe()})")
    used = {c for c in (cols.ra, cols.dec) if c}
    extra = [c for c in table.columns if c not in RESERVED and c != table.id_column and c not in used]
    base = Table(table.data[extra].copy(), {c: table.info[c] for c in extra})
    result = base.with_columns(out)
    order = [result.id_column, "name", "ra", "dec", *extra]
    result = Table(result.data[order], result.info, result.id_column, {})
    result = result.take(keep)
    result.meta = {**(meta or {}), "short_name": short_name, "n_rows": int(len(tab)),
                   "dropped_no_position": int((~keep).sum()), "position_columns": cols.describe(),
                   "name_column": cols.name}
    if (~keep).any() and ctx is not None:
        ctx.warn(f"{where}: {int((~keep).sum())} of {len(tab)} rows have no position and were left out")
    return result
