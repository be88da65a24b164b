"""The star table passed between stages: a DataFrame plus column units and descriptions.

Stages exchange a pandas DataFrame (one row per star) with a stable id column.
Units and descriptions live beside it in ``Table.info`` because pandas does not
carry them reliably. Astropy objects are made at the boundaries (``quantity``,
``to_astropy``) where units matter.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from typing import Iterable

import numpy as np
import pandas as pd

from .errors import StageError
from .scores import is_flag

ROW_ID = "row_id"
TRUTH_COLUMN = "truth_population"


@dataclass
class ColumnInfo:
    unit: str | None = None
    description: str = ""


def _unit_string(unit) -> str | None:
    if unit is None:
        return None
    s = unit.to_string() if hasattr(unit, "to_string") else str(unit)
    return s or None


class Columns:
    """New columns made by a stage, with units and descriptions.

    ``add`` accepts plain arrays or astropy Quantities (the unit is taken from
    the Quantity, so physical values cross the stage boundary with their unit).
    """

    def __init__(self) -> None:
        self.data: dict[str, np.ndarray] = {}
        self.info: dict[str, ColumnInfo] = {}

    def add(self, name: str, values, unit=None, description: str = "") -> "Columns":
        if hasattr(values, "unit") and hasattr(values, "value"):
            if unit is not None:
                values = values.to(unit)
            unit, values = values.unit, values.value
        self.data[name] = np.asarray(values)
        self.info[name] = ColumnInfo(_unit_string(unit), description)
        return self

    def __len__(self) -> int:
        return len(self.data)

    def __contains__(self, name: str) -> bool:
        return name in self.data

    def names(self) -> list[str]:
        return list(self.data)


@dataclass
class Table:
    """One row per star; ``id_column`` is stable through every stage."""

    data: pd.DataFrame
    info: dict[str, ColumnInfo] = field(default_factory=dict)
    id_column: str = ROW_ID
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data = self.data.reset_index(drop=True)
        # each table owns its column infos: editing a unit here never changes another table's
        self.info = {name: replace(info) for name, info in self.info.items()}
        if self.id_column not in self.data.columns:
            self.data.insert(0, self.id_column, np.arange(len(self.data), dtype=np.int64))
            self.info[self.id_column] = ColumnInfo(None, "row number in the source table")
        for name in self.data.columns:
            self.info.setdefault(name, ColumnInfo())

    # -- construction ---------------------------------------------------
    @classmethod
    def from_columns(cls, cols: Columns, id_column: str | None = None, meta: dict | None = None) -> "Table":
        """Build from ``Columns`` (units and descriptions kept): the usual way a source makes its table."""
        return cls(pd.DataFrame(cols.data), dict(cols.info), id_column or ROW_ID, dict(meta or {}))

    @classmethod
    def from_astropy(cls, tab, id_column: str | None = None, meta: dict | None = None) -> "Table":
        """Build from an astropy Table, keeping units and descriptions; masked -> NaN."""
        data, info = {}, {}
        for name in tab.colnames:
            col = tab[name]
            if col.ndim > 1:
                continue  # array-valued cells are not per-star scalars
            values = col
            if getattr(col, "mask", None) is not None and np.any(col.mask):
                if col.dtype.kind in "fiu":
                    values = np.ma.filled(col.astype(float), np.nan)
                elif col.dtype.kind == "b":
                    values = np.ma.filled(col, False)
                else:
                    values = np.ma.filled(col.astype(object), None)
            arr = np.asarray(values)
            if arr.dtype.kind == "S":
                arr = np.char.decode(arr, "utf-8")
            if arr.dtype.byteorder == ">":
                arr = arr.astype(arr.dtype.newbyteorder("="))  # FITS is big-endian; pandas needs native
            data[name] = arr
            info[name] = ColumnInfo(_unit_string(col.unit), col.description or "")
        df = pd.DataFrame(data)
        return cls(df, info, id_column or ROW_ID, dict(meta or {}))

    # -- access ---------------------------------------------------------
    def __len__(self) -> int:
        return len(self.data)

    @property
    def columns(self) -> list[str]:
        return list(self.data.columns)

    def require(self, names: Iterable[str], stage: str) -> None:
        """Raise a StageError naming the stage, the missing columns and what exists."""
        missing = [n for n in names if n not in self.data.columns]
        if missing:
            hints = []
            for n in missing:
                near = difflib.get_close_matches(n, self.columns, n=3)
                if near:
                    hints.append(f"'{n}' (did you mean {', '.join(repr(x) for x in near)}?)")
                else:
                    hints.append(f"'{n}'")
            raise StageError(
                f"stage '{stage}': missing column(s) {', '.join(hints)}.\n"
                f"Available columns: {', '.join(self.columns)}"
            )

    def id_problems(self) -> str | None:
        """What is wrong with the id column (missing or repeated values), or None when every id is unique."""
        ids = self.data[self.id_column]
        missing = int(ids.isna().sum())
        dup = ids[ids.duplicated(keep=False) & ids.notna()]
        problems = []
        if missing:
            problems.append(f"{missing} row(s) without an id (NaN/empty)")
        if len(dup):
            examples = ", ".join(map(str, pd.unique(dup)[:5]))
            problems.append(f"{dup.nunique()} id value(s) repeated on {len(dup)} rows (e.g. {examples})")
        return "; ".join(problems) or None

    def flag_columns(self) -> list[str]:
        """The detectors' flag columns (``flag_<step>``, written by the runner), in table order."""
        return [c for c in self.columns if is_flag(c)]

    def flagged(self, columns: Iterable[str] | None = None) -> np.ndarray:
        """True where any of ``columns`` (default: every flag column) is true; missing values are not flagged."""
        cols = self.flag_columns() if columns is None else list(columns)
        if not cols:
            return np.zeros(len(self), bool)
        return self.data[cols].fillna(False).astype(bool).any(axis=1).to_numpy()

    def quantity(self, name: str):
        """The column as an astropy Quantity (dimensionless when it has no unit)."""
        import astropy.units as u

        unit = self.info.get(name, ColumnInfo()).unit
        return np.asarray(self.data[name], dtype=float) * (u.Unit(unit) if unit else u.dimensionless_unscaled)

    def array(self, name: str) -> np.ndarray:
        return np.asarray(self.data[name], dtype=float)

    @property
    def is_mock(self) -> bool:
        return bool(self.meta.get("mock", False))

    # -- derivation -----------------------------------------------------
    def with_columns(self, cols: Columns) -> "Table":
        """A new Table with ``cols`` added (or replaced), rows unchanged."""
        df = self.data.copy(deep=False)   # copy-on-write: the new columns never touch this table's data
        info = dict(self.info)
        new = {}
        for name, values in cols.data.items():
            if len(values) != len(df):
                raise StageError(f"column '{name}' has {len(values)} rows, table has {len(df)}")
            if name in df.columns:
                df[name] = values
            else:
                new[name] = values
            info[name] = cols.info[name]
        if new:   # all at once: one block, not one insert per column
            df = pd.concat([df, pd.DataFrame(new, index=df.index)], axis=1)
        return Table(df, info, self.id_column, dict(self.meta))

    def take(self, rows) -> "Table":
        """A new Table with the selected rows (boolean mask or positions)."""
        rows = np.asarray(rows)
        df = self.data[rows] if rows.dtype == bool else self.data.iloc[rows]
        return Table(df.reset_index(drop=True), dict(self.info), self.id_column, dict(self.meta))

    def split(self, n_chunks: int) -> list["Table"]:
        """Contiguous row chunks (for chunked processing and chunk-purity tests)."""
        return [self.take(idx) for idx in np.array_split(np.arange(len(self)), n_chunks)]

    @staticmethod
    def concat(parts: list["Table"]) -> "Table":
        first = parts[0]
        if len(parts) == 1:
            return first
        df = pd.concat([p.data for p in parts], ignore_index=True)
        return Table(df, dict(first.info), first.id_column, dict(first.meta))

    def to_astropy(self, columns: Iterable[str] | None = None):
        """An astropy Table with units and descriptions (for FITS/VOTable/Parquet)."""
        from astropy.table import Table as ATable

        names = list(columns) if columns is not None else self.columns
        out = ATable()
        for name in names:
            values = self.data[name].to_numpy()
            if values.dtype == object or str(self.data[name].dtype) in ("string", "str"):
                values = np.array(["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                                   for v in values])
            elif values.dtype.kind == "b":
                values = values.astype(bool)
            info = self.info.get(name, ColumnInfo())
            out[name] = values
            if info.unit:
                out[name].unit = info.unit
            if info.description:
                out[name].description = info.description
        return out
