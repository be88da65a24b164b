"""Per-star covariance matrices stored as table columns, and their safe use.

A 6x6 covariance over features (X, Y, Z, U, V, W) is stored as its 21
upper-triangle entries, named ``cov_<a><b>`` with a before-or-equal b in
feature order: cov_XX, cov_XY, cov_XZ, cov_XU, ..., cov_WW. For general
features the name is ``cov_<a>_<b>`` when a feature name is longer than one
character (``cov_pmra_pmdec``). The same rule packs and unpacks, so any
detector can find the covariances another step wrote.
"""

from __future__ import annotations

import numpy as np

from toolkit.core import StageError, Table


def cov_column(a: str, b: str, prefix: str = "cov_") -> str:
    sep = "" if len(a) == 1 and len(b) == 1 else "_"
    return f"{prefix}{a}{sep}{b}"


def upper_pairs(names) -> list[tuple[int, int]]:
    d = len(names)
    return [(i, j) for i in range(d) for j in range(i, d)]


def pack(covs: np.ndarray, names, prefix: str = "cov_") -> dict[str, np.ndarray]:
    """(n, d, d) -> {cov_ab: (n,)} for the upper triangle."""
    return {cov_column(names[i], names[j], prefix): covs[:, i, j] for i, j in upper_pairs(names)}


def unpack(table: Table, names, prefix: str = "cov_") -> np.ndarray | None:
    """(n, d, d) from ``cov_ab`` columns; None when none of them exist.

    Missing off-diagonal columns count as zero; a missing diagonal column is an error
    (a covariance without a variance is not a covariance).
    """
    cols = {(i, j): cov_column(names[i], names[j], prefix) for i, j in upper_pairs(names)}
    if not any(c in table.data.columns for c in cols.values()):
        return None
    d = len(names)
    covs = np.zeros((len(table), d, d))
    for (i, j), col in cols.items():
        if col in table.data.columns:
            covs[:, i, j] = covs[:, j, i] = table.array(col)
        elif i == j:
            raise StageError(f"covariance column '{col}' (variance of {names[i]}) is missing while other "
                             f"{prefix}* columns exist; compute them with mixture.cartesian or set "
                             f"covariance: none")
    return covs


def diagonal_from_errors(table: Table, names, suffix: str = "_error") -> np.ndarray | None:
    """(n, d, d) diagonal covariances from ``<name>_error`` columns (missing ones are zero)."""
    present = [f"{n}{suffix}" in table.data.columns for n in names]
    if not any(present):
        return None
    covs = np.zeros((len(table), len(names), len(names)))
    for k, n in enumerate(names):
        if present[k]:
            covs[:, k, k] = table.array(f"{n}{suffix}") ** 2
    return covs


def regularise(covs: np.ndarray, rel_tol: float = 1e-10) -> tuple[np.ndarray, int]:
    """Make star covariances symmetric positive semi-definite; return them and how many were fixed.

    Non-finite entries become 0 and negative eigenvalues are clipped to 0: a star
    covariance enters the mixture as C_star + C_component, so a semi-definite
    C_star is enough, and this never raises. The count goes into the summary.
    """
    covs = np.array(covs, dtype=float, copy=True)
    bad_entries = ~np.isfinite(covs)
    fixed = bad_entries.any(axis=(1, 2))
    covs[bad_entries] = 0.0
    asym = ~np.allclose(covs, np.swapaxes(covs, 1, 2))
    covs = 0.5 * (covs + np.swapaxes(covs, 1, 2))
    if asym:
        fixed |= np.any(np.abs(covs - np.swapaxes(covs, 1, 2)) > 0, axis=(1, 2))
    evals, evecs = np.linalg.eigh(covs)
    scale = np.maximum(np.abs(evals).max(axis=1), 1e-300)
    negative = evals < -rel_tol * scale[:, None]
    neg_rows = negative.any(axis=1)
    if neg_rows.any():
        ev = np.clip(evals[neg_rows], 0.0, None)
        V = evecs[neg_rows]
        covs[neg_rows] = np.einsum("nij,nj,nkj->nik", V, ev, V)
    fixed |= neg_rows
    return covs, int(fixed.sum())
