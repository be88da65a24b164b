"""``lsdb.crossmatch``: each row's nearest neighbour within a radius in a second HATS catalogue, through LSDB.

The rows of a chunk become a small LSDB catalogue that is cross-matched with the HATS catalogue
(LSDB's k-d tree cross-match over aligned pixels, with the catalogue's margin for neighbours
across pixel edges), so a chunk reads only the pixels under it. The nearest neighbour of a row
depends on that row alone: the feature is chunk-pure, and runs per partition on dask workers.
"""

from __future__ import annotations

from pathlib import Path

import difflib

import numpy as np
import pandas as pd

from toolkit.core import Columns, Config, Feature, Field, StageError, Table, hats_units

from .catalog_source import import_lsdb
from .frames import numpy_frame

#: (path, columns) -> (opened right catalogue, units); one per process (a dask worker opens it once)
_OPENED: dict = {}


def _open_right(path: str, columns: list[str]):
    key = (path, tuple(columns))
    if key not in _OPENED:
        lsdb = import_lsdb()
        try:
            whole = lsdb.open_catalog(path, columns="all")
        except Exception as exc:  # noqa: BLE001 - FileNotFoundError, ValueError, a network error...
            raise StageError(f"lsdb.crossmatch: '{path}' is not a HATS catalogue ({type(exc).__name__}: {exc})") \
                from None
        names = list(whole.all_columns)
        for name in columns:
            if name not in names:
                near = difflib.get_close_matches(name, names, n=3)
                hint = f" (did you mean {', '.join(repr(n) for n in near)}?)" if near else ""
                raise StageError(f"lsdb.crossmatch: `columns` names '{name}', which '{path}' does not have{hint}. "
                                 f"Its columns: {', '.join(names)}")
        units = hats_units(getattr(whole.hc_structure.catalog_info, "model_extra", None))
        _OPENED[key] = (lsdb.open_catalog(path, columns=list(columns)), units)
    return _OPENED[key]


class LsdbCrossmatch(Feature):
    name = "lsdb.crossmatch"
    summary = "Nearest neighbour within a radius in a second HATS catalogue (LSDB): its columns and the separation."

    class Config(Config):
        path: str | Path = Field(description="the HATS catalogue to match against (path or URL), ideally with a margin "
                          "catalogue at least as wide as the radius")
        columns: list[str] = Field(min_length=1, description="its columns to bring over")
        radius_arcsec: float = Field(gt=0, le=3600, description="largest separation of a match, arcsec")
        prefix: str = Field("", description="put before each brought column's name (e.g. tmass_)")
        separation_column: str = Field("xmatch_sep_arcsec", description="the separation of the match, arcsec "
                                       "(NaN: no neighbour within the radius)")
        ra_column: str = Field("ra", description="this table's right ascension, deg")
        dec_column: str = Field("dec", description="this table's declination, deg")
        units: dict[str, str] = Field(default_factory=dict, description="units of brought columns the catalogue "
                                      "leaves without one")

    def compute(self, table: Table, ctx) -> Columns:
        cfg = self.config
        table.require([cfg.ra_column, cfg.dec_column], self.name)
        right, units = _open_right(str(cfg.path), cfg.columns)
        units = {**units, **cfg.units}
        ra = table.quantity(cfg.ra_column).to_value("deg") if table.info[cfg.ra_column].unit else table.array(cfg.ra_column)
        dec = table.quantity(cfg.dec_column).to_value("deg") if table.info[cfg.dec_column].unit \
            else table.array(cfg.dec_column)
        ok = np.isfinite(ra) & np.isfinite(dec)
        position = np.full(len(table), -1, np.int64)
        matched = pd.DataFrame()
        if ok.any():
            matched = self._match(np.flatnonzero(ok), ra[ok], dec[ok], right)
            position[matched["_row"].to_numpy()] = np.arange(len(matched))
        cols = Columns()
        hit = position >= 0
        for name in cfg.columns:
            values = matched[f"{name}_xm"].to_numpy() if len(matched) else np.empty(0)
            cols.add(cfg.prefix + name, _spread(values, position, hit), unit=units.get(name),
                     description=f"{name} of the nearest {cfg.path} row within {cfg.radius_arcsec:g} arcsec")
        sep = matched["_dist_arcsec"].to_numpy(float) if len(matched) else np.empty(0)
        cols.add(cfg.separation_column, _spread(sep, position, hit), unit="arcsec",
                 description=f"separation of the match in {cfg.path} (NaN: none within {cfg.radius_arcsec:g} arcsec)")
        return cols

    def _match(self, rows: np.ndarray, ra: np.ndarray, dec: np.ndarray, right) -> pd.DataFrame:
        import dask

        lsdb = import_lsdb()
        left = pd.DataFrame({"_row": rows, "_ra": ra, "_dec": dec})
        # in this process, synchronously: inside a dask worker, LSDB's own dask calls would otherwise go to
        # the cluster from a task that waits for them, and a worker with one thread never runs them
        with dask.config.set(scheduler="synchronous"):
            cat = lsdb.from_dataframe(left, ra_column="_ra", dec_column="_dec", catalog_name="rows",
                                      margin_threshold=None, should_generate_moc=False)
            xm = cat.crossmatch(right, n_neighbors=1, radius_arcsec=self.config.radius_arcsec, how="inner",
                                suffixes=("", "_xm"), suffix_method="all_columns", log_changes=False)
            out = xm.compute(progress_bar=False)
        return numpy_frame(out).sort_values("_row", kind="stable").reset_index(drop=True)


def _spread(values: np.ndarray, position: np.ndarray, hit: np.ndarray) -> np.ndarray:
    """Matched values in table row order; NaN (numbers) or None (text) where nothing matched."""
    if values.dtype.kind in "fiub":
        out = np.full(len(position), np.nan)
    else:
        out = np.full(len(position), None, dtype=object)
    out[hit] = values[position[hit]]
    return out
