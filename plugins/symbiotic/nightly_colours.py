"""``symbiotic.nightly_colours``: per-night weighted magnitudes and all 30 colours, per object.

The seed's compute_all_colors.py, written out:

1. Per object, night and filter: inverse-variance weighted magnitude
   m_n = sum(w_i m_i) / sum(w_i), w_i = 1 / sigma_i^2, with error sigma_n = 1 / sqrt(sum w_i).
   A night is the local night at the observatory: floor(MJD + longitude/360 - 0.5), i.e. nights
   change at local solar noon (Siding Spring, 149.0661 E, by default).
2. Per night, every ordered pair (a, b) of the filters (u v g r i z: 30 pairs) where both
   were measured: c_n = m_a,n - m_b,n, sigma_c,n = sqrt(sigma_a,n^2 + sigma_b,n^2).
3. Per object: inverse-variance weighted mean over nights, C = sum(c_n / s_n^2) / sum(1 / s_n^2),
   error 1 / sqrt(sum 1 / s_n^2) (a statistical error: night-to-night variability is not
   added), and the number of nights used.

Columns: ``<prefix>a_minus_b`` (mag), ``..._err`` (mag), ``..._nights`` and ``<prefix>n_nights``
(nights with any usable epoch). Objects without epochs get NaN colours and 0 nights.
Chunk-pure: each object's colours use only that object's epochs.
"""

from __future__ import annotations

from itertools import permutations

import numpy as np
import pandas as pd

from toolkit.core import Columns, Config, Feature, Field, StageError, Table
from toolkit.core import RunContext

from .bands import SKYMAPPER
from .epochs import EpochSpec, load_epochs


def night_index(mjd: np.ndarray, longitude_deg: float) -> np.ndarray:
    """Integer night number; nights change at local solar noon at the given east longitude."""
    return np.floor(np.asarray(mjd, float) + longitude_deg / 360.0 - 0.5).astype(np.int64)


def nightly_magnitudes(epochs: pd.DataFrame, filters, longitude_deg: float) -> pd.DataFrame:
    """Weighted magnitude and error per (object_id, night, filter). Bad rows are dropped."""
    ep = epochs[epochs["filter"].isin(list(filters))]
    mag = pd.to_numeric(ep["mag"], errors="coerce").to_numpy(float)
    err = pd.to_numeric(ep["err"], errors="coerce").to_numpy(float)
    ok = np.isfinite(mag) & np.isfinite(err) & (err > 0)
    ep = ep[ok]
    w = 1.0 / err[ok] ** 2
    work = pd.DataFrame({"object_id": ep["object_id"].to_numpy(), "night": night_index(ep["mjd"], longitude_deg),
                         "filter": ep["filter"].to_numpy(), "wm": w * mag[ok], "w": w})
    g = work.groupby(["object_id", "night", "filter"], sort=True)[["wm", "w"]].sum()
    g["mag"] = g["wm"] / g["w"]
    g["err"] = 1.0 / np.sqrt(g["w"])
    return g[["mag", "err"]].reset_index()


def colours_per_object(nightly: pd.DataFrame, filters) -> pd.DataFrame:
    """Index object_id; for each ordered pair a_minus_b, a_minus_b_err, a_minus_b_nights."""
    mag = nightly.pivot_table(index=["object_id", "night"], columns="filter", values="mag", aggfunc="first")
    err = nightly.pivot_table(index=["object_id", "night"], columns="filter", values="err", aggfunc="first")
    objects = mag.index.get_level_values("object_id")
    out = {}
    for a, b in permutations(filters, 2):
        name = f"{a}_minus_{b}"
        if a not in mag or b not in mag:
            nan = pd.Series(np.nan, index=pd.Index(objects.unique(), name="object_id"))
            out[name], out[name + "_err"], out[name + "_nights"] = nan, nan, nan.fillna(0)
            continue
        c = (mag[a] - mag[b]).to_numpy()
        var = (err[a] ** 2 + err[b] ** 2).to_numpy()
        ok = np.isfinite(c) & np.isfinite(var) & (var > 0)
        w = np.where(ok, 1.0 / np.where(ok, var, 1.0), 0.0)
        frame = pd.DataFrame({"wc": np.where(ok, w * np.nan_to_num(c), 0.0), "w": w, "n": ok.astype(int)},
                             index=objects)
        s = frame.groupby(level=0).sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            out[name] = s["wc"] / s["w"].where(s["w"] > 0)
            out[name + "_err"] = 1.0 / np.sqrt(s["w"].where(s["w"] > 0))
        out[name + "_nights"] = s["n"]
    result = pd.DataFrame(out)
    result["n_nights"] = nightly.groupby("object_id")["night"].nunique()
    return result


class NightlyColours(Feature):
    name = "symbiotic.nightly_colours"
    summary = "Per-night inverse-variance weighted u v g r i z magnitudes, all 30 colours with errors, averaged per object."

    class Config(Config):
        epochs: EpochSpec = Field(default_factory=EpochSpec,
                                  description="where per-epoch rows come from: {kind: auto|file|mock|skymapper, ...}")
        object_column: str = Field("object_id", description="table column matching the epochs' object_id")
        filters: list[str] = Field(list(SKYMAPPER), min_length=2, description="filters whose colours are formed")
        observatory_longitude_deg: float = Field(
            149.0661, description="east longitude that sets the night boundary (local noon); Siding Spring by default")
        prefix: str = Field("", description="prefix for the new column names")

    def compute(self, table: Table, ctx: RunContext) -> Columns:
        cfg = self.config
        table.require([cfg.object_column], self.name)
        ids = table.data[cfg.object_column]
        epochs = load_epochs(cfg.epochs, table.data, cfg.object_column, ctx, is_mock=table.is_mock)
        epochs = epochs[epochs["object_id"].isin(set(ids.tolist()))]
        n_in = len(epochs)
        nightly = nightly_magnitudes(epochs, cfg.filters, cfg.observatory_longitude_deg)
        if ctx is not None:
            ctx.record("epochs", {"kind": cfg.epochs.kind, "rows_for_these_objects": int(n_in)})
        if n_in and nightly.empty:
            raise StageError(f"{self.name}: none of the {n_in} epoch rows for these objects has a finite magnitude, "
                             f"a positive error and a filter in {cfg.filters}; check epochs.columns and the filter names")
        per_object = colours_per_object(nightly, cfg.filters).reindex(ids.to_numpy())
        cols = Columns()
        for a, b in permutations(cfg.filters, 2):
            name = f"{a}_minus_{b}"
            cols.add(cfg.prefix + name, per_object[name].to_numpy(float), unit="mag",
                     description=f"{a} - {b}: inverse-variance weighted mean over nights of nightly weighted magnitudes")
            cols.add(cfg.prefix + name + "_err", per_object[name + "_err"].to_numpy(float), unit="mag",
                     description=f"propagated statistical error of {a} - {b}")
            cols.add(cfg.prefix + name + "_nights", per_object[name + "_nights"].fillna(0).to_numpy(np.int64),
                     description=f"nights with both {a} and {b}")
        cols.add(cfg.prefix + "n_nights", per_object["n_nights"].fillna(0).to_numpy(np.int64),
                 description="nights with any usable epoch in these filters")
        return cols
