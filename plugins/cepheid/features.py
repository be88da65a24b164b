"""Cepheid features: fundamental-mode log P, the Gaia Wesenheit magnitude, absolute magnitudes, LMC region.

All four are row-wise (chunk-pure). Bad periods are errors by default: a zero or
negative period is a broken catalogue row, and a Leavitt-law fit on it would be
silently wrong.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from toolkit.core import Columns, Config, Feature, Field, StageError, Table, column_in
from toolkit.core import RunContext

from .relations import LMC_CENTRE_DEG, WESENHEIT_LAMBDA, fundamentalise
from .sky import separation_deg

LN10 = np.log(10.0)


def _ids(table: Table, rows: np.ndarray, limit: int = 5) -> str:
    ids = table.data[table.id_column].to_numpy()[rows][:limit]
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"{table.id_column} " + ", ".join(str(i) for i in ids) + more


def _mag(table: Table, column: str, stage: str) -> np.ndarray:
    """A magnitude column; a unit other than mag (or none) is an error naming the column."""
    unit = table.info[column].unit
    if unit not in (None, "mag"):
        raise StageError(f"stage '{stage}': column '{column}' has unit '{unit}', expected mag")
    return table.array(column)


class FundamentalPeriod(Feature):
    name = "cepheid.period"
    summary = ("log10 of the fundamental-mode period: F periods as they are, first-overtone periods "
               "fundamentalised with Feast & Catchpole 1997 (P_F = P_1O / (0.716 - 0.027 log P_1O)).")

    class Config(Config):
        period_column: str = Field("pf", description="fundamental-mode period (days); Gaia vari_cepheid pf")
        overtone_column: str | None = Field("p1_o", description="first-overtone period (days), used where the F "
                                            "period is empty; null if the table has none")
        invalid: Literal["error", "drop"] = Field("error", description="zero/negative periods: error (default) or "
                                                  "drop (NaN log P, counted in the manifest)")
        output: str = Field("logP", description="output column: log10 fundamental(-ised) period in days")

    def compute(self, table: Table, ctx: RunContext) -> Columns:
        cfg = self.config
        needed = [cfg.period_column] + ([cfg.overtone_column] if cfg.overtone_column else [])
        table.require(needed, self.name)
        pf = table.array(cfg.period_column)
        p1 = table.array(cfg.overtone_column) if cfg.overtone_column else np.full(len(table), np.nan)
        use_1o = ~np.isfinite(pf) & np.isfinite(p1)
        period = np.where(use_1o, p1, pf)
        bad = np.flatnonzero(np.isfinite(period) & (period <= 0))
        if len(bad) and cfg.invalid == "error":
            raise StageError(f"stage '{self.name}': {len(bad)} row(s) have a zero or negative period in "
                             f"'{cfg.period_column}'/'{cfg.overtone_column}' ({_ids(table, bad)}). A period must be "
                             "positive; fix the input, or set invalid: drop to give them NaN.")
        period = np.where(period > 0, period, np.nan)
        if len(table) and not np.isfinite(period).any():
            raise StageError(f"stage '{self.name}': no row has a period: '{cfg.period_column}'"
                             + (f" and '{cfg.overtone_column}'" if cfg.overtone_column else "")
                             + f" are empty or non-finite in all {len(table)} rows. A Leavitt-law fit needs periods.")
        logp = np.log10(np.where(use_1o, fundamentalise(period), period))
        if ctx is not None:
            ctx.record("periods", {"fundamental": int((np.isfinite(pf) & (pf > 0)).sum()),
                                   "first_overtone_fundamentalised": int((use_1o & np.isfinite(logp)).sum()),
                                   "no_period": int((~np.isfinite(logp)).sum()), "dropped_nonpositive": int(len(bad))})
        cols = Columns()
        cols.add(cfg.output, logp, description=f"log10 fundamental-mode period (days): {cfg.period_column}, or "
                 f"{cfg.overtone_column} fundamentalised with Feast & Catchpole 1997")
        cols.add(f"{cfg.output}_mode", np.where(use_1o, "1O", np.where(np.isfinite(logp), "F", "")),
                 description="F: fundamental period used; 1O: first-overtone period fundamentalised")
        return cols


class Wesenheit(Feature):
    name = "cepheid.wesenheit"
    summary = "Gaia Wesenheit magnitude W = G - 1.90 (BP - RP) (Ripepi et al. 2019), reddening-free, with its error."

    class Config(Config):
        g: str = Field("int_average_g", description="G magnitude column")
        bp: str = Field("int_average_bp", description="BP magnitude column")
        rp: str = Field("int_average_rp", description="RP magnitude column")
        errors: list[str] | None = Field(["int_average_g_error", "int_average_bp_error", "int_average_rp_error"],
                                         description="G, BP, RP error columns (independent); null: no W_err")
        lam: float = Field(WESENHEIT_LAMBDA, description="lambda = A_G / E(BP-RP); 1.90 from Ripepi et al. 2019")
        output: str = Field("W", description="output column (its error is <output>_err)")

    def compute(self, table: Table, ctx: RunContext) -> Columns:
        cfg = self.config
        table.require([cfg.g, cfg.bp, cfg.rp] + list(cfg.errors or []), self.name)
        g, bp, rp = (_mag(table, c, self.name) for c in (cfg.g, cfg.bp, cfg.rp))
        cols = Columns()
        cols.add(cfg.output, g - cfg.lam * (bp - rp), "mag",
                 f"Gaia Wesenheit {cfg.g} - {cfg.lam} ({cfg.bp} - {cfg.rp}) (lambda: Ripepi et al. 2019)")
        if cfg.errors:
            eg, ebp, erp = (table.array(c) for c in cfg.errors)
            cols.add(f"{cfg.output}_err", np.sqrt(eg**2 + cfg.lam**2 * (ebp**2 + erp**2)), "mag",
                     "error of W from the G, BP, RP errors, taken as independent")
        return cols


class AbsoluteMagnitudes(Feature):
    name = "cepheid.absolute_magnitude"
    summary = ("Absolute magnitudes M = m - A - mu with errors, mu from the parallax (optional zero-point) or "
               "from a distance column (e.g. Bailer-Jones r_est).")

    class Config(Config):
        magnitudes: dict[str, str] = Field(default_factory=lambda: {"W": "W"},
                                           description="band -> apparent magnitude column; outputs M_<band><suffix>")
        errors: dict[str, str] = Field(default_factory=lambda: {"W": "W_err"},
                                       description="band -> magnitude error column (bands left out: no error)")
        extinction: dict[str, str] = Field(default_factory=dict, description="band -> extinction column to "
                                           "subtract (e.g. {G: g_absorption}); W needs none")
        extinction_errors: dict[str, str] = Field(default_factory=dict, description="band -> extinction error column")
        distance_from: Literal["parallax", "distance"] = Field(
            "parallax", description="parallax: mu = 10 - 5 log10(parallax - zero_point) (mas); distance: "
            "mu = 5 log10(d / 10 pc) from distance_column")
        parallax_column: str = Field("parallax", description="parallax (mas)")
        parallax_error_column: str = Field("parallax_error", description="parallax error (mas)")
        zero_point: float = Field(0.0, description="parallax zero-point (mas) subtracted: parallax - zero_point; "
                                  "Gaia DR2 -0.029 (Lindegren+2018), DR3 -0.017 (Lindegren+2021)")
        distance_column: str = Field("r_est", description="distance (pc)")
        distance_interval: list[str] | None = Field(["r_lo", "r_hi"], description="lower/upper distance columns "
                                                    "(pc) for the error; null: no distance error")
        suffix: str = Field("", description="appended to output names, e.g. '_bj' for distance-based ones")

    def _modulus(self, table: Table) -> tuple[np.ndarray, np.ndarray, str]:
        cfg = self.config
        if cfg.distance_from == "parallax":
            table.require([cfg.parallax_column, cfg.parallax_error_column], self.name)
            plx = column_in(table, cfg.parallax_column, "mas", stage=self.name) - cfg.zero_point
            e = column_in(table, cfg.parallax_error_column, "mas", stage=self.name)
            with np.errstate(divide="ignore", invalid="ignore"):
                mu = np.where(plx > 0, 10.0 - 5.0 * np.log10(plx), np.nan)
                emu = np.where(plx > 0, 5.0 / LN10 * e / plx, np.nan)
            zp = f" - ({cfg.zero_point} mas)" if cfg.zero_point else ""
            return mu, emu, f"10 - 5 log10({cfg.parallax_column}{zp}); NaN for non-positive parallax"
        need = [cfg.distance_column] + list(cfg.distance_interval or [])
        table.require(need, self.name)
        d = column_in(table, cfg.distance_column, "pc", stage=self.name)
        with np.errstate(divide="ignore", invalid="ignore"):
            mu = np.where(d > 0, 5.0 * np.log10(d) - 5.0, np.nan)
            if cfg.distance_interval:
                lo, hi = (column_in(table, c, "pc", stage=self.name) for c in cfg.distance_interval)
                emu = 5.0 / LN10 * (hi - lo) / (2.0 * d)
            else:
                emu = np.zeros(len(table))
        return mu, emu, f"5 log10({cfg.distance_column} / 10 pc)"

    def compute(self, table: Table, ctx: RunContext) -> Columns:
        cfg = self.config
        table.require(list(cfg.magnitudes.values()) + list(cfg.errors.values()) + list(cfg.extinction.values())
                      + list(cfg.extinction_errors.values()), self.name)
        mu, emu, how = self._modulus(table)
        cols = Columns()
        cols.add(f"mu{cfg.suffix}", mu, "mag", f"distance modulus {how}")
        cols.add(f"mu{cfg.suffix}_err", emu, "mag", "error of the distance modulus (first order)")
        for band, column in cfg.magnitudes.items():
            m = _mag(table, column, self.name)
            var = emu**2
            if band in cfg.errors:
                var = var + table.array(cfg.errors[band]) ** 2
            ext = ""
            if band in cfg.extinction:
                m = m - table.array(cfg.extinction[band])
                ext = f" - {cfg.extinction[band]}"
                if band in cfg.extinction_errors:
                    var = var + table.array(cfg.extinction_errors[band]) ** 2
            cols.add(f"M_{band}{cfg.suffix}", m - mu, "mag", f"absolute {band}: {column}{ext} - mu ({how})")
            cols.add(f"M_{band}{cfg.suffix}_err", np.sqrt(var), "mag", f"error of M_{band}{cfg.suffix} (magnitude, "
                     "extinction and distance-modulus errors in quadrature)")
        return cols


class LmcRegion(Feature):
    name = "cepheid.lmc_region"
    summary = "Angular separation from the LMC centre and LMC membership by position (within a radius)."

    class Config(Config):
        centre: tuple[float, float] = Field(LMC_CENTRE_DEG, description="LMC centre (ra, dec) in deg, ICRS")
        radius_deg: float = Field(8.0, gt=0, description="members lie within this separation (deg)")
        ra: str = Field("ra", description="right ascension column (deg)")
        dec: str = Field("dec", description="declination column (deg)")

    def compute(self, table: Table, ctx: RunContext) -> Columns:
        cfg = self.config
        table.require([cfg.ra, cfg.dec], self.name)
        sep = separation_deg(table.array(cfg.ra), table.array(cfg.dec), cfg.centre)
        return (Columns().add("lmc_sep", sep, "deg", f"separation from the LMC centre {cfg.centre}")
                .add("in_lmc", sep <= cfg.radius_deg, description=f"within {cfg.radius_deg} deg of the LMC centre"))
