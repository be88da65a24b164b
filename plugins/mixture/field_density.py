"""The field's density at each star: the background every group is measured against.

Two models, both fitted to the whole field (every scorable row with a measured RV,
not only the region the groups are fitted in), so the background is not drawn into
the region's shape:

* ``gaussian``: one broad Gaussian (an XD fit, deconvolved of the stars' errors) - the
  background component of Chronostar's current mixtures;
* ``kde``: a Gaussian kernel density estimate in the field's whitened coordinates
  (Scott's bandwidth n^(-1/(d+4))), each star left out of its own estimate -
  Crundall et al. (2019, MNRAS 489, 3625, sect. 2.4) evaluate the background
  from the Gaia DR2 RV catalogue this way. A volume-limited field is not Gaussian
  (uniform in space within the survey sphere, a peaked, skewed velocity
  distribution near the LSR); inside a region cut around a group, a single broad
  Gaussian under-predicts the field and groups absorb the excess.

In both, the background's amplitude (its weight) is fitted with the groups. The groups
are fitted to the stars of a region only (a box around the group), so each density
is normalised over that region: the field model's density is divided by the fraction
of the field that lies in the region (counted from the field rows), as Chronostar's
background enters as an expected number density of field stars. Without that, a
field density normalised over the whole 100 pc sample is ~300 times too low inside
a Chronostar box, and groups absorb the whole field.
"""

from __future__ import annotations

import numpy as np

from .gaussian_overlap import LOG_2PI, log_overlap


def fit_field_gaussian(X: np.ndarray, S: np.ndarray, max_rows: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (deconvolved) covariance of the field: one XD component on at most ``max_rows`` rows."""
    from .xd_mixture import XDGaussianMixture

    rows = np.arange(len(X))
    if len(rows) > max_rows:
        rows = np.sort(rng.choice(rows, max_rows, replace=False))
    st = XDGaussianMixture(n_components=1, max_components=1).fit(X[rows], S[rows]).state_
    return st.means[0], st.covs[0]


class FieldKDE:
    """Gaussian KDE of field points, bandwidth matrix h^2 Cov(field); plain arrays only."""

    def __init__(self, field: np.ndarray, bandwidth: float | None = None):
        self.field = np.asarray(field, float)
        n, d = self.field.shape
        self.mean = self.field.mean(axis=0)
        self.cov = np.cov(self.field, rowvar=False)
        self.bandwidth = float(bandwidth if bandwidth is not None else n ** (-1.0 / (d + 4)))
        self._L = np.linalg.cholesky(self.cov) * self.bandwidth
        self._Z = self._whiten(self.field)
        self._log_norm = -0.5 * d * LOG_2PI - np.log(np.diag(self._L)).sum() - np.log(n)

    def _whiten(self, X):
        """L^-1 (x - mean) by forward substitution, elementwise: a row's result never depends on the other rows
        (a LAPACK solve over many right-hand sides may round differently for a different number of rows)."""
        D = np.asarray(X, float) - self.mean
        L = self._L
        Z = np.empty_like(D)
        for j in range(D.shape[1]):
            acc = D[:, j].copy()
            for i in range(j):
                acc = acc - L[j, i] * Z[:, i]
            Z[:, j] = acc / L[j, j]
        return Z

    def log_density(self, X: np.ndarray, leave_out: np.ndarray | None = None,
                    max_elements: int = 10_000_000) -> np.ndarray:
        """ln p_field(x) for rows X; ``leave_out`` (bool per row): the row is one of the field points.

        Exact (every field point), in chunks of rows so that at most ``max_elements`` distances
        (80 MB) exist at once: 1,000 stars against a 300,000-star field take a few seconds."""
        Z = self._whiten(X)
        chunk = max(1, max_elements // max(len(self._Z), 1))
        out = np.empty(len(Z))
        n = len(self._Z)
        for start in range(0, len(Z), chunk):
            q = Z[start:start + chunk]
            d2 = np.zeros((len(q), n))
            for j in range(q.shape[1]):             # elementwise, so each row is independent of its chunk
                d2 += (q[:, j, None] - self._Z[None, :, j]) ** 2
            k = np.exp(-0.5 * d2)
            s = k.sum(axis=1)
            if leave_out is not None:
                s = s - leave_out[start:start + chunk]         # the star's own kernel, exp(0) = 1
                s = s * n / (n - 1)
            out[start:start + chunk] = np.log(np.maximum(s, 1e-300)) + self._log_norm
        return out


def field_log_density(kind: str, X_region, S_region, X_field, S_field, in_field: np.ndarray,
                      field_in_region: np.ndarray, rng, max_rows: int = 20000) -> tuple[np.ndarray, dict]:
    """(ln background density of each region star, normalised over the region; a JSON description).

    ``in_field``: per region star, whether it is one of the field rows (left out of its own KDE term);
    ``field_in_region``: per field row, whether it lies in the region (the normalising fraction).
    """
    fraction = max(float(np.mean(field_in_region)), 1.0 / max(len(field_in_region), 1))
    if kind == "gaussian":
        mean, cov = fit_field_gaussian(X_field, S_field, max_rows, rng)
        logd = log_overlap(X_region, S_region, mean, cov)
        model = {"kind": "gaussian", "mean": mean.tolist(), "covariance": cov.tolist(),
                 "std": np.sqrt(np.diag(cov)).tolist()}
    elif kind == "kde":
        kde = FieldKDE(X_field)
        logd = kde.log_density(X_region, in_field)
        model = {"kind": "kde", "n_field": int(len(X_field)), "bandwidth": kde.bandwidth,
                 "mean": kde.mean.tolist(), "covariance": kde.cov.tolist()}
    else:
        raise ValueError(f"unknown background kind {kind!r}")
    model["fraction_of_field_in_region"] = fraction
    return logd - np.log(fraction), model
