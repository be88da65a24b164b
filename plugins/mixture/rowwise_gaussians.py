"""Log densities of Gaussian mixtures computed row by row, so a score never depends on its chunk.

BLAS matrix products may sum in a different order for a different number of
rows, which would make a streamed run's scores differ in the last bits from an
in-memory run's. With the few features a mixture uses (d <= 10), the products
are written as sums over the feature index with elementwise NumPy, in one fixed
order, so every row's numbers are the same whatever rows come with it.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp


def full_precision_cholesky(precisions_cholesky: np.ndarray, covariance_type: str, n_components: int,
                            n_features: int) -> np.ndarray:
    """scikit-learn's ``precisions_cholesky_`` of any covariance_type as (K, d, d) upper-triangular matrices."""
    pc = np.asarray(precisions_cholesky, float)
    if covariance_type == "full":
        return pc.copy()
    if covariance_type == "tied":
        return np.broadcast_to(pc, (n_components, n_features, n_features)).copy()
    if covariance_type == "diag":
        return np.stack([np.diag(p) for p in pc])
    if covariance_type == "spherical":
        return np.stack([p * np.eye(n_features) for p in pc])
    raise ValueError(f"unknown covariance_type '{covariance_type}'")


def component_log_densities(Z: np.ndarray, means: np.ndarray, prec_chol: np.ndarray) -> np.ndarray:
    """(n, K) ln N(z | mean_k, (P_k P_k^T)^-1) with ``prec_chol`` P_k (K, d, d) as scikit-learn stores it."""
    n, d = Z.shape
    out = np.empty((n, len(means)))
    for k, (m, P) in enumerate(zip(means, prec_chol)):
        diff = [Z[:, i] - m[i] for i in range(d)]
        quad = np.zeros(n)
        for j in range(d):
            y = np.zeros(n)
            for i in range(d):
                if P[i, j] != 0.0:
                    y = y + diff[i] * P[i, j]
            quad = quad + y * y
        out[:, k] = -0.5 * (d * np.log(2 * np.pi) + quad) + np.log(np.abs(np.diag(P))).sum()
    return out


def mixture_log_probabilities(Z: np.ndarray, weights: np.ndarray, means: np.ndarray,
                              prec_chol: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ln density (n,), responsibilities (n, K)) of rows ``Z`` under a mixture."""
    weighted = component_log_densities(Z, means, prec_chol) + np.log(weights)
    total = logsumexp(weighted, axis=1)
    return total, np.exp(weighted - total[:, None])
