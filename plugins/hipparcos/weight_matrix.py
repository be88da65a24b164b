"""Errors and correlations from the I/311 upper-triangular weight matrix.

I/311 stores the covariance of the five astrometric parameters (ra*, dec,
parallax, pmra*, pmdec) as 15 elements of an upper-triangular matrix U, column
by column (U11, U12, U22, U13, U23, U33, ...). Following Michalik et al. 2014
(A&A 571, A85, appendix B): the stored diagonal is relative to u / sigma_i, where
sigma_i are the formal errors and u the unit-weight error recovered from the
goodness of fit F2 with Ntr - 5 degrees of freedom (Wilson-Hilferty); then
N = U'U and C = u^2 N^-1. The reconstructed diagonal reproduces the catalogue's
formal errors to better than 1% for 5-parameter solutions (tested).

For 7- and 9-parameter and VIM solutions the 5x5 block is part of a larger
matrix, so its inverse is not the marginal covariance: those rows get NaN.
"""

from __future__ import annotations

import numpy as np

from toolkit.core import Columns, Config, Feature, Field, Table
from toolkit.core import RunContext

PARAMETERS = ("ra", "dec", "parallax", "pmra", "pmdec")     # Gaia-style names for the correlations
ERROR_COLUMNS = ("e_rarad", "e_derad", "e_plx", "e_pmra", "e_pmde")
WEIGHT_COLUMNS = tuple(f"uw{k}" for k in range(1, 16))


def unit_weight_error(ntr, f2, n_params: int = 5) -> np.ndarray:
    """u = sqrt(chi2 / nu), inverting F2 = sqrt(9 nu / 2) [(chi2/nu)^(1/3) + 2/(9 nu) - 1]."""
    nu = np.asarray(ntr, float) - n_params
    with np.errstate(invalid="ignore", divide="ignore"):
        chi2 = nu * (np.sqrt(2.0 / (9.0 * nu)) * np.asarray(f2, float) + 1.0 - 2.0 / (9.0 * nu)) ** 3
        return np.sqrt(chi2 / nu)


def covariance_from_weights(uw: np.ndarray, sigma: np.ndarray, ntr, f2, u=None) -> np.ndarray:
    """(n, 5, 5) covariance in the units of ``sigma`` (mas, mas/yr) from (n, 15) weights.

    ``u`` overrides the unit-weight error recovered from ``ntr`` and ``f2``.
    """
    uw, sigma = np.asarray(uw, float), np.asarray(sigma, float)
    u = unit_weight_error(ntr, f2) if u is None else np.broadcast_to(np.asarray(u, float), (len(uw),))
    upper = np.zeros((len(uw), 5, 5))
    k = 0
    for j in range(5):
        for i in range(j + 1):
            upper[:, i, j] = uw[:, k] * (u / sigma[:, i] if i == j else 1.0)
            k += 1
    normal = np.einsum("nki,nkj->nij", upper, upper)
    cov = np.full_like(normal, np.nan)
    ok = np.isfinite(normal).all(axis=(1, 2)) & (np.abs(np.linalg.det(np.nan_to_num(normal))) > 0)
    cov[ok] = (u[ok] ** 2)[:, None, None] * np.linalg.inv(normal[ok])
    return cov


class AstrometricCovariance(Feature):
    name = "hipparcos.astrometric_covariance"
    summary = "Correlations of the five astrometric parameters, rebuilt from the I/311 weight matrix."

    class Config(Config):
        solution_types: list[int] = Field([5, 1], description="solution types s = Sn mod 10 for which the 5x5 "
                                          "weight matrix is the whole story (5: five-parameter, 1: stochastic)")

    def compute(self, table: Table, ctx: RunContext) -> Columns:
        table.require(["sn", "ntr", "f2", *ERROR_COLUMNS, *WEIGHT_COLUMNS], self.name)
        sigma = np.column_stack([table.array(c) for c in ERROR_COLUMNS])
        uw = np.column_stack([table.array(c) for c in WEIGHT_COLUMNS])
        u = unit_weight_error(table.array("ntr"), table.array("f2"))
        cov = covariance_from_weights(uw, sigma, None, None, u=u)
        valid = np.isin(np.asarray(table.data["sn"]) % 10, self.config.solution_types)
        cov[~valid] = np.nan
        err = np.sqrt(np.einsum("nii->ni", cov))
        out = Columns()
        for i in range(5):
            for j in range(i + 1, 5):
                a, b = PARAMETERS[i], PARAMETERS[j]
                out.add(f"{a}_{b}_corr", cov[:, i, j] / (err[:, i] * err[:, j]),
                        description=f"correlation of {a} and {b}, from the I/311 weight matrix "
                                    f"(NaN unless Sn mod 10 in {self.config.solution_types})")
        out.add("unit_weight_error", u,
                description="u = sqrt(chi2/nu) of the astrometric fit, recovered from F2 and Ntr - 5")
        return out
