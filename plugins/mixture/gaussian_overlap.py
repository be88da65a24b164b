"""Log overlap of each star's measurement Gaussian with a model Gaussian.

    ln N(x_i; m, C + S_i)

is the integral of the product of the star's Gaussian N(., x_i, S_i) and the
component N(., m, C): Chronostar's "overlap integral". It is the per-star,
per-component density of every mixture here and the quantity used to pick the
top-N candidates. Vectorised over stars (batched 6x6 factorisations).
"""

from __future__ import annotations

import numpy as np

LOG_2PI = np.log(2.0 * np.pi)


def log_overlap(X: np.ndarray, S: np.ndarray, mean: np.ndarray, cov: np.ndarray,
                chunk: int = 200_000) -> np.ndarray:
    """(n,) ln N(X_i; mean, cov + S_i) for stars X (n, d) with covariances S (n, d, d)."""
    n, d = X.shape
    out = np.empty(n)
    for start in range(0, n, chunk):
        sl = slice(start, start + chunk)
        T = S[sl] + cov
        L = np.linalg.cholesky(T)
        diff = (X[sl] - mean)[..., None]
        z = np.linalg.solve(L, diff)[..., 0]
        logdet = 2.0 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
        out[sl] = -0.5 * (d * LOG_2PI + logdet + np.einsum("ni,ni->n", z, z))
    return out


def overlap_terms(X: np.ndarray, S: np.ndarray, mean: np.ndarray, cov: np.ndarray):
    """ln N(X_i; mean, cov + S_i) and (cov + S_i)^-1 (n, d, d), both needed by the XD M-step."""
    d = X.shape[1]
    T = S + cov
    L = np.linalg.cholesky(T)
    logdet = 2.0 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
    Tinv = np.linalg.inv(T)
    diff = X - mean
    maha = np.einsum("ni,nij,nj->n", diff, Tinv, diff)
    return -0.5 * (d * LOG_2PI + logdet + maha), Tinv
