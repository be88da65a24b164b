"""``gaia.bailer_jones``: geometric distances for the rows' Gaia source ids, from the Gaia archive.

Bailer-Jones et al. (2021, AJ 161, 147) distances for Gaia EDR3 sources live in the
archive table ``external.gaiaedr3_distance`` (``r_med_geo``, ``r_lo_geo``,
``r_hi_geo``: median, 16th and 84th percentiles of the geometric posterior, pc).
The seed pipeline used the DR2-era catalogue (Bailer-Jones et al. 2018, AJ 156, 58;
``external.gaiadr2_geometric_distance``: ``r_est``, ``r_lo``, ``r_hi``), which is what
matches Gaia DR2 source ids such as SkyMapper DR2's ``gaia_dr2_id1``: choose
``catalogue: dr2`` for DR2 ids (EDR3 ids differ for a few per cent of sources), or
set ``table`` and ``columns`` for another table. Output names are always
``r_med_geo``, ``r_lo_geo``, ``r_hi_geo`` (pc).

The unique ids are uploaded (TAP_UPLOAD) in batches of ``batch_size`` and joined on
the server; each batch is cached by ``toolkit.core.remote``. Rows without a usable
source id (missing, NaN, <= 0) and ids absent from the catalogue get NaN. The
result for a row depends on its id alone, so the feature is chunk-pure.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import model_validator

from toolkit.core import Columns, Feature, Field, SourceUnavailable, StageError, Table
from toolkit.core import RunContext
from toolkit.core import GAIA_TAP_URL, TapOptions, batches, tap_query

OUTPUT = ("r_med_geo", "r_lo_geo", "r_hi_geo")
CATALOGUES = {
    "edr3": ("external.gaiaedr3_distance", {"r_med_geo": "r_med_geo", "r_lo_geo": "r_lo_geo",
                                            "r_hi_geo": "r_hi_geo"}),
    "dr2": ("external.gaiadr2_geometric_distance", {"r_med_geo": "r_est", "r_lo_geo": "r_lo", "r_hi_geo": "r_hi"}),
}
DESCRIPTIONS = {
    "r_med_geo": "Bailer-Jones geometric distance: median of the posterior",
    "r_lo_geo": "Bailer-Jones geometric distance: 16th percentile of the posterior",
    "r_hi_geo": "Bailer-Jones geometric distance: 84th percentile of the posterior",
}


def distance_query(table: str, columns: dict[str, str], id_column: str = "source_id") -> str:
    """The upload join: catalogue rows whose source_id is in ``TAP_UPLOAD.ids``."""
    select = ", ".join([f"d.{id_column}"] + [f"d.{theirs} AS {ours}" for ours, theirs in columns.items()])
    return (f"SELECT {select}\nFROM {table} AS d\n"
            f"JOIN TAP_UPLOAD.ids AS u ON d.{id_column} = u.source_id")


def usable_ids(values) -> np.ndarray:
    """Source ids as int64, with 0 where a row has none (missing, NaN, <= 0, not a number)."""
    s = pd.to_numeric(pd.Series(values), errors="coerce")
    ok = s.notna() & (s > 0)
    out = np.zeros(len(s), dtype=np.int64)
    if ok.any():
        # object columns keep exact 64-bit ids; floats (NaN-holding columns) lose precision above 2**53
        exact = pd.Series(values)[ok.to_numpy()]
        out[ok.to_numpy()] = [int(v) for v in exact]
    return out


class BailerJonesDistance(Feature):
    name = "gaia.bailer_jones"
    aliases = ("distance.bailer_jones",)   # the former name, until the next release
    summary = "Bailer-Jones geometric distances (EDR3 2021 or DR2 2018) for the rows' Gaia source ids, via TAP upload."

    class Config(TapOptions):
        source_id_column: str = Field("source_id", description="column with the rows' Gaia source ids")
        catalogue: Literal["edr3", "dr2"] = Field(
            "edr3", description="edr3: Bailer-Jones et al. 2021 (external.gaiaedr3_distance); dr2: Bailer-Jones "
                                "et al. 2018 (external.gaiadr2_geometric_distance), for Gaia DR2 ids")
        table: str | None = Field(None, description="archive table to use instead of the catalogue's")
        columns: dict[str, str] | None = Field(
            None, description="r_med_geo/r_lo_geo/r_hi_geo -> the table's column names (with `table`)")
        url: str = Field(GAIA_TAP_URL, description="Gaia archive TAP base URL")
        batch_size: int = Field(20000, ge=1, description="source ids uploaded per query")
        async_: bool | Literal["auto"] = Field(
            "auto", description="async jobs (true), sync (false), or auto: async when a batch may exceed "
                                "sync_max_rows rows")

        @model_validator(mode="after")
        def _columns(self):
            if self.columns is not None and sorted(self.columns) != sorted(OUTPUT):
                raise ValueError(f"`columns` must map exactly {', '.join(OUTPUT)} to the table's names")
            return self

    def _catalogue(self) -> tuple[str, dict[str, str]]:
        table, columns = CATALOGUES[self.config.catalogue]
        return self.config.table or table, self.config.columns or columns

    def compute(self, table: Table, ctx: RunContext) -> Columns:
        cfg = self.config
        table.require([cfg.source_id_column], self.name)
        raw = table.data[cfg.source_id_column]
        ids = usable_ids(raw.to_numpy())
        if raw.dtype.kind == "f" and ctx is not None and (ids > 2**53).any():
            ctx.warn(f"column '{cfg.source_id_column}' holds Gaia source ids as floating-point numbers, which are "
                     "not exact above 2**53: some ids may match no (or the wrong) source. Store the ids as "
                     "integers or strings.")
        wanted = np.unique(ids[ids > 0])
        cat_table, columns = self._catalogue()
        adql = distance_query(cat_table, columns)
        async_ = cfg.async_ if isinstance(cfg.async_, bool) else cfg.batch_size > cfg.sync_max_rows
        found: dict[str, dict[int, float]] = {c: {} for c in OUTPUT}
        units = {}
        spans = batches(len(wanted), cfg.batch_size)
        for start, stop in (ctx.track(spans, "Bailer-Jones distances") if ctx is not None else spans):
            from astropy.table import Table as ATable

            upload = {"ids": ATable({"source_id": wanted[start:stop]})}
            try:
                tab = tap_query(cfg.url, adql, label=self.name, upload=upload, timeout_s=cfg.timeout_s,
                                deadline_s=cfg.deadline_s, retries=cfg.retries, backoff_s=cfg.backoff_s, cache=cfg.cache, async_=async_,
                                async_wait_s=cfg.async_wait_s, ctx=ctx)
            except SourceUnavailable as exc:
                raise SourceUnavailable(
                    f"{exc}\nThis feature needs the archive table {cat_table}. Without it: remove the "
                    f"{self.name} step and use gaia.distance (1/parallax) instead, or add "
                    f"{', '.join(OUTPUT)} columns to your input table from a local export of {cat_table} "
                    "(and drop this step).") from exc
            missing = [c for c in ("source_id", *OUTPUT) if c not in tab.colnames]
            if missing:
                raise StageError(f"{self.name}: the archive answer lacks column(s) {missing}; it has "
                                 f"{', '.join(tab.colnames)}. Check `table`/`columns`.")
            sid = np.asarray(tab["source_id"], dtype=np.int64)
            for c in OUTPUT:
                units.setdefault(c, tab[c].unit)
                values = np.ma.filled(np.ma.asarray(tab[c]).astype(float), np.nan)
                found[c].update(zip(sid.tolist(), values.tolist()))
        out = Columns()
        for c in OUTPUT:
            values = np.array([found[c].get(int(i), np.nan) if i > 0 else np.nan for i in ids], dtype=float)
            unit = units.get(c) or "pc"
            out.add(c, values, unit=str(unit), description=f"{DESCRIPTIONS[c]} ({cat_table})")
        if ctx is not None:
            n_found = int(np.isfinite(out.data["r_med_geo"]).sum())
            ctx.record("bailer_jones", {"table": cat_table, "rows": len(ids), "with_source_id": int((ids > 0).sum()),
                                        "with_distance": n_found, "batches": len(spans)})
        return out
