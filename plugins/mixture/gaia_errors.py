"""Gaia-like measurement errors for synthetic stars.

Each error is drawn from a log-normal around a typical Gaia DR3 value for
stars bright enough to have radial velocities (G <~ 13), then multiplied by
``scale`` (Chronostar's worked example uses 0.3). Correlations between the
five astrometric parameters are drawn as a random positive-definite matrix
(identity plus a small random perturbation), so the synthetic table carries
all 10 Gaia correlation columns and the full covariance is always valid.
"""

from __future__ import annotations

import numpy as np

from .cartesian_feature import CORRELATED, CORRELATIONS

#: median errors: ra/dec in mas (of alpha*, delta), parallax mas, pm mas/yr, rv km/s
TYPICAL_ERRORS = {"ra": 0.03, "dec": 0.03, "parallax": 0.04, "pmra": 0.05, "pmdec": 0.05,
                  "radial_velocity": 1.0}
LOG_SPREAD = 0.5


def draw_errors(n: int, rng: np.random.Generator, scale: float = 1.0, typical: dict | None = None) -> dict:
    typical = {**TYPICAL_ERRORS, **(typical or {})}
    return {k: scale * v * np.exp(LOG_SPREAD * rng.standard_normal(n)) for k, v in typical.items()}


def draw_correlations(n: int, rng: np.random.Generator, strength: float = 0.2) -> np.ndarray:
    """(n, 5, 5) random correlation matrices (positive definite)."""
    A = np.eye(5) + strength * rng.standard_normal((n, 5, 5))
    C = np.einsum("nij,nkj->nik", A, A)
    d = np.sqrt(np.einsum("nii->ni", C))
    return C / d[:, :, None] / d[:, None, :]


def measure(truth: dict, rng: np.random.Generator, scale: float = 1.0, typical: dict | None = None) -> dict:
    """Noisy astrometry + error and correlation columns from true ra, dec, parallax, pmra, pmdec, rv."""
    n = len(truth["ra"])
    err = draw_errors(n, rng, scale, typical)
    corr = draw_correlations(n, rng)
    sig = np.stack([err[k] for k in CORRELATED], axis=1)
    cov = corr * sig[:, :, None] * sig[:, None, :]
    noise = np.einsum("nij,nj->ni", np.linalg.cholesky(cov), rng.standard_normal((n, 5)))
    out = {}
    mas_to_deg = 1.0 / 3.6e6
    dec_true = truth["dec"]
    out["ra"] = (truth["ra"] + noise[:, 0] * mas_to_deg / np.cos(np.radians(dec_true))) % 360.0
    out["dec"] = np.clip(dec_true + noise[:, 1] * mas_to_deg, -90, 90)
    out["parallax"] = truth["parallax"] + noise[:, 2]
    out["pmra"] = truth["pmra"] + noise[:, 3]
    out["pmdec"] = truth["pmdec"] + noise[:, 4]
    out["radial_velocity"] = truth["radial_velocity"] + err["radial_velocity"] * rng.standard_normal(n)
    for k in ("ra", "dec", "parallax", "pmra", "pmdec", "radial_velocity"):
        out[f"{k}_error"] = err[k]
    for a, b, col in CORRELATIONS:
        out[col] = corr[:, CORRELATED.index(a), CORRELATED.index(b)]
    return out
