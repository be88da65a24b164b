"""``symbiotic.extinction_column`` and ``symbiotic.extinction_mwdust``: E(B-V), A_band, dereddened magnitudes and colours.

Both give the same columns:
- ``ebv`` (mag; name configurable): E(B-V) times ``ebv_scale`` (0.86 converts SFD to the
  Schlafly & Finkbeiner 2011 scale; the seed uses SFD as is, scale 1);
- ``A_<column>`` (mag) = R_band E(B-V) for every magnitude column in ``coefficients``;
- ``<column>_0`` (mag): the dereddened magnitude;
- one column per entry of ``colours`` (``{jk_0: [j_m, k_m]}``): the dereddened colour.

Default R_band (bands.R_BY_COLUMN): SkyMapper from Wolf et al. 2018, 2MASS and WISE from
Schlafly & Finkbeiner 2011 (R_J - R_K = 0.413, the seed's cut3 coefficient).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from toolkit.core import Columns, Config, Feature, Field, StageError, Table, column_in
from toolkit.core import RunContext

from .bands import R_BY_COLUMN
from .dust_maps import MAP_FILES, MAPS_2D, VECTORISED, load_map


class DereddeningConfig(Config):
    coefficients: dict[str, float] = Field(default_factory=lambda: dict(R_BY_COLUMN),
                                           description="magnitude column -> R = A/E(B-V); columns absent from the table are skipped")
    colours: dict[str, list[str]] = Field(default_factory=lambda: {"jk_0": ["j_m", "k_m"], "gi_0": ["g_psf", "i_psf"],
                                                                   "ug_0": ["u_psf", "g_psf"], "vg_0": ["v_psf", "g_psf"]},
                                          description="new colour name -> [blue magnitude column, red magnitude column]")
    ebv_scale: float = Field(1.0, gt=0, description="multiply E(B-V) by this (0.86: SFD -> Schlafly & Finkbeiner 2011)")
    output_column: str = Field("ebv", description="name of the E(B-V) column written")


def dereddened(table: Table, ebv: np.ndarray, cfg: DereddeningConfig, origin: str) -> Columns:
    """The shared output: E(B-V), A_band, dereddened magnitudes and colours."""
    ebv = np.asarray(ebv, float) * cfg.ebv_scale
    cols = Columns().add(cfg.output_column, ebv, unit="mag", description=f"E(B-V) from {origin}"
                         + (f", times {cfg.ebv_scale}" if cfg.ebv_scale != 1 else ""))
    present = {c: r for c, r in cfg.coefficients.items() if c in table.data.columns}
    corrected = {}
    for col, r in present.items():
        a = r * ebv
        corrected[col] = table.array(col) - a
        cols.add(f"A_{col}", a, unit="mag", description=f"extinction in {col}: {r} x E(B-V)")
        cols.add(f"{col}_0", corrected[col], unit="mag", description=f"{col} corrected for extinction ({r} x E(B-V))")
    for name, pair in cfg.colours.items():
        if len(pair) != 2:
            raise StageError(f"colour '{name}' must name two magnitude columns, got {pair}")
        lacking = [c for c in pair if c not in corrected]
        if lacking:
            table.require(lacking, "extinction colours")
            raise StageError(f"colour '{name}': no extinction coefficient for {lacking}; add them to `coefficients`")
        a, b = pair
        cols.add(name, corrected[a] - corrected[b], unit="mag",
                 description=f"({a} - {b}) - ({present[a]} - {present[b]}) E(B-V)")
    return cols


class ExtinctionColumn(Feature):
    name = "symbiotic.extinction_column"
    aliases = ("extinction.column",)   # the former name, until the next release
    summary = "E(B-V) from a catalogue column (e.g. SkyMapper ebmv_sfd); A_band, dereddened magnitudes and colours."

    class Config(DereddeningConfig):
        ebv_column: str = Field("ebmv_sfd", description="column holding E(B-V) (mag)")

    def compute(self, table: Table, ctx: RunContext) -> Columns:
        table.require([self.config.ebv_column], self.name)
        return dereddened(table, table.array(self.config.ebv_column), self.config, f"column {self.config.ebv_column}")


class ExtinctionMwdust(Feature):
    name = "symbiotic.extinction_mwdust"
    aliases = ("extinction.mwdust",)   # the former name, until the next release
    summary = "E(B-V) at (l, b, distance) from a named mwdust map (SFD, Combined19, Green19, Marshall06, Zero, ...)."

    class Config(DereddeningConfig):
        map: str = Field("SFD", description=f"mwdust map: {', '.join(MAP_FILES)}")
        dust_dir: Path | None = Field(None, description="map folder; null = $DUST_DIR or ~/.mwdust (mwdust reads it once, at import)")
        ra_column: str = Field("ra", description="ICRS right ascension (deg); used when l/b columns are absent")
        dec_column: str = Field("dec", description="ICRS declination (deg)")
        l_column: str | None = Field(None, description="Galactic longitude column (deg), if the table has one")
        b_column: str | None = Field(None, description="Galactic latitude column (deg)")
        distance_column: str = Field("r_med_geo", description="distance column (3D maps only); its unit is used, pc assumed when none")

    def _galactic(self, table: Table) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.config
        if cfg.l_column and cfg.b_column:
            table.require([cfg.l_column, cfg.b_column], self.name)
            return table.array(cfg.l_column), table.array(cfg.b_column)
        from astropy.coordinates import SkyCoord
        import astropy.units as u

        table.require([cfg.ra_column, cfg.dec_column], self.name)
        gal = SkyCoord(ra=table.array(cfg.ra_column) * u.deg, dec=table.array(cfg.dec_column) * u.deg, frame="icrs").galactic
        return gal.l.deg, gal.b.deg

    def _distance_kpc(self, table: Table) -> np.ndarray:
        return column_in(table, self.config.distance_column, "kpc", default_unit="pc", stage=self.name)

    def compute(self, table: Table, ctx: RunContext) -> Columns:
        cfg = self.config
        dust_map = load_map(cfg.map, cfg.dust_dir)
        l, b = self._galactic(table)
        d = np.ones(len(table)) if cfg.map in MAPS_2D else self._distance_kpc(table)
        ebv = np.full(len(table), np.nan)
        ok = np.isfinite(l) & np.isfinite(b) & np.isfinite(d) & (d > 0)
        outside = 0
        if ok.any() and cfg.map in VECTORISED:
            ebv[ok] = np.asarray(dust_map(l[ok], b[ok], d[ok]), float)
        elif ok.any():
            for i in np.flatnonzero(ok):
                try:
                    ebv[i] = float(np.atleast_1d(dust_map(float(l[i]), float(b[i]), np.array([d[i]])))[0])
                except (IndexError, ValueError):   # outside the map's footprint
                    outside += 1
        if ctx is not None:
            ctx.record("map", {"name": cfg.map, "rows_without_position_or_distance": int((~ok).sum()),
                               "rows_outside_map": outside})
            if outside:
                ctx.warn(f"{outside} rows lie outside the footprint of mwdust {cfg.map}; their E(B-V) is NaN")
        return dereddened(table, ebv, cfg, f"mwdust {cfg.map}" + ("" if cfg.map in MAPS_2D else f" at {cfg.distance_column}"))
