"""``mixture.cartesian``: Chronostar's prepare-data as a chunk-pure feature.

Astrometry with errors and Gaia's 10 correlation coefficients -> heliocentric
Galactic X Y Z (pc), U V W (km/s) and their full 6x6 covariance (21 columns
``cov_XX ... cov_WW``, see covariance_columns.py), by analytic Jacobian
propagation for all stars at once.

Missing radial velocities are replaced by a configured constant (default
0 km/s) with a very large error (default 10,000 km/s, as Chronostar does) and
flagged in ``rv_imputed``. Chronostar uses the sample mean RV; a constant is
used here because a sample statistic would make the result depend on which
rows are processed together (features must be chunk-pure), and with a
10,000 km/s error the value itself carries no weight in the mixture.
"""

from __future__ import annotations

import numpy as np

from toolkit.core import Columns, Config, Feature, Field, StageError, Table, column_in
from toolkit.core import RunContext

from .blas_threads import single_blas_thread
from .cartesian_transform import astrometry_to_cartesian, jacobian, propagate_covariance
from .covariance_columns import cov_column, upper_pairs
from .frames import CARTESIAN_NAMES, CARTESIAN_UNITS

ASTROMETRY = ("ra", "dec", "parallax", "pmra", "pmdec", "radial_velocity")
#: value units and error units (Gaia: ra/dec errors are in mas, of alpha* and delta)
VALUE_UNITS = {"ra": "deg", "dec": "deg", "parallax": "mas", "pmra": "mas / yr", "pmdec": "mas / yr",
               "radial_velocity": "km / s"}
ERROR_UNITS = {"ra": "mas", "dec": "mas", "parallax": "mas", "pmra": "mas / yr", "pmdec": "mas / yr",
               "radial_velocity": "km / s"}
#: the 10 Gaia correlation columns among the five astrometric parameters (RV is uncorrelated)
CORRELATED = ("ra", "dec", "parallax", "pmra", "pmdec")
CORRELATIONS = [(a, b, f"{a}_{b}_corr") for i, a in enumerate(CORRELATED) for b in CORRELATED[i + 1:]]


class GaiaCartesian(Feature):
    name = "mixture.cartesian"
    aliases = ("gaia.cartesian",)   # the former name, until the next release
    summary = ("Astrometry + errors + correlations -> heliocentric Galactic XYZUVW and full 6x6 "
               "covariances (Jacobian propagation); missing RVs imputed and flagged.")

    class Config(Config):
        columns: dict[str, str] = Field(default_factory=dict, description=(
            "astrometric name -> column, for names that differ from Gaia's (keys: ra, dec, parallax, "
            "pmra, pmdec, radial_velocity), e.g. {parallax: plx, radial_velocity: rv}"))
        errors: dict[str, str] = Field(default_factory=dict, description=(
            "astrometric name -> error column, when not '<column>_error' (e.g. {parallax: e_plx}). "
            "ra/dec errors are sigma(alpha*), sigma(delta) in mas as in Gaia; missing ra/dec error "
            "columns count as 0 and are recorded, other missing errors are an error"))
        rv_fill: float = Field(0.0, description="radial velocity (km/s) put in where it is missing")
        rv_fill_error: float = Field(10_000.0, gt=0, description="error (km/s) given to an imputed radial velocity")
        covariance_prefix: str = Field("cov_", description="prefix of the 21 covariance columns")

    row_wise = True

    def _col(self, key: str) -> str:
        return self.config.columns.get(key, key)

    def _err(self, key: str) -> str:
        return self.config.errors.get(key, f"{self._col(key)}_error")

    @single_blas_thread
    def compute(self, table: Table, ctx: RunContext) -> Columns:
        cfg = self.config
        table.require([self._col(k) for k in ASTROMETRY if k != "radial_velocity"], self.name)
        n = len(table)
        vals = {k: column_in(table, self._col(k), VALUE_UNITS[k]) for k in ASTROMETRY
                if k != "radial_velocity" or self._col(k) in table.data.columns}
        missing_notes = {}
        if "radial_velocity" not in vals:
            vals["radial_velocity"] = np.full(n, np.nan)
            missing_notes["radial_velocity"] = f"column '{self._col('radial_velocity')}' absent: every RV imputed"

        errs = {}
        for k in ASTROMETRY:
            col = self._err(k)
            if col in table.data.columns:
                errs[k] = column_in(table, col, ERROR_UNITS[k])
            elif k in ("ra", "dec") or (k == "radial_velocity" and "radial_velocity" in missing_notes):
                errs[k] = np.zeros(n)
                missing_notes[col] = "absent: treated as 0"
            else:
                raise StageError(f"{self.name}: error column '{col}' for {k} is missing. Name it with "
                                 f"`errors: {{{k}: <column>}}` in the recipe. Available: {', '.join(table.columns)}")

        rv = vals["radial_velocity"]
        rv_err = errs["radial_velocity"]
        imputed = ~np.isfinite(rv) | ~np.isfinite(rv_err)
        rv = np.where(imputed, cfg.rv_fill, rv)
        rv_err = np.where(imputed, cfg.rv_fill_error, rv_err)
        vals["radial_velocity"], errs["radial_velocity"] = rv, rv_err

        # astrometric covariance: errors x correlations (missing correlations = 0, recorded)
        cov_a = np.zeros((n, 6, 6))
        for i, k in enumerate(ASTROMETRY):
            cov_a[:, i, i] = errs[k] ** 2
        absent_corr, nan_corr_rows = [], np.zeros(n, bool)
        for a, b, col in CORRELATIONS:
            if col not in table.data.columns:
                absent_corr.append(col)
                continue
            rho = table.array(col)
            bad = ~np.isfinite(rho)
            nan_corr_rows |= bad
            rho = np.where(bad, 0.0, rho)
            i, j = ASTROMETRY.index(a), ASTROMETRY.index(b)
            cov_a[:, i, j] = cov_a[:, j, i] = rho * errs[a] * errs[b]
        if absent_corr:
            ctx.record("missing_correlations", absent_corr)
            ctx.warn(f"{len(absent_corr)} correlation column(s) absent, treated as 0: {', '.join(absent_corr)}")
        if nan_corr_rows.any():
            ctx.record("rows_with_nan_correlations", int(nan_corr_rows.sum()))
        if missing_notes:
            ctx.record("missing_columns", missing_notes)

        ok = np.ones(n, bool)
        for k in ("ra", "dec", "parallax", "pmra", "pmdec"):
            ok &= np.isfinite(vals[k])
        ok &= vals["parallax"] > 0
        ok &= np.all(np.isfinite(cov_a.reshape(n, -1)), axis=1)
        bad_parallax = int((np.isfinite(vals["parallax"]) & (vals["parallax"] <= 0)).sum())
        if bad_parallax:
            ctx.record("non_positive_parallax_rows", bad_parallax)

        mean = np.full((n, 6), np.nan)
        cov = np.full((n, 6, 6), np.nan)
        if ok.any():
            args = [vals[k][ok] for k in ASTROMETRY]
            mean[ok] = astrometry_to_cartesian(*args)
            cov[ok] = propagate_covariance(jacobian(*args), cov_a[ok])
        ctx.set_frame("heliocentric Galactic cartesian", {"name": "heliocentric Galactic cartesian",
                             "axes": "X to the Galactic centre, Y to Galactic rotation, Z to the north Galactic pole",
                             "origin": "Sun", "velocities": "relative to the Sun"})
        ctx.record("rv_imputed", int(imputed.sum()))

        out = Columns()
        for k, (name, unit) in enumerate(zip(CARTESIAN_NAMES, CARTESIAN_UNITS)):
            out.add(name, mean[:, k], unit=unit,
                    description=f"heliocentric Galactic {name} (X to Galactic centre, Y rotation, Z north pole)")
        for i, j in upper_pairs(CARTESIAN_NAMES):
            a, b = CARTESIAN_NAMES[i], CARTESIAN_NAMES[j]
            unit = _product_unit(CARTESIAN_UNITS[i], CARTESIAN_UNITS[j])
            out.add(cov_column(a, b, cfg.covariance_prefix), cov[:, i, j], unit=unit,
                    description=f"covariance of {a} and {b} (first-order propagation of the astrometric errors)")
        out.add("rv_imputed", imputed, description=(f"radial velocity missing: set to {cfg.rv_fill} km/s "
                                                    f"with error {cfg.rv_fill_error} km/s"))
        return out


def _product_unit(a: str, b: str) -> str:
    import astropy.units as u

    return (u.Unit(a) * u.Unit(b)).to_string()
