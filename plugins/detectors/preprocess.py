"""Feature matrix and its preparation: NaN/inf handling and standardisation.

The ``Preprocessor`` is fitted on the training rows only (medians for
imputation, mean and standard deviation for scaling) and saved with the model,
so new data is scaled exactly as the training data was.
"""

from __future__ import annotations

import numpy as np

from toolkit.core import StageError, Table


def feature_matrix(table: Table, features: list[str], stage: str) -> np.ndarray:
    """The named columns as a float64 (rows, features) array; missing or non-numeric -> StageError."""
    table.require(features, stage)
    bad = [f for f in features if table.data[f].dtype.kind not in "biuf"]
    if bad:
        raise StageError(f"stage '{stage}': feature column(s) {', '.join(repr(b) for b in bad)} are not numeric "
                         f"({', '.join(str(table.data[b].dtype) for b in bad)}); pick numeric features")
    return np.column_stack([table.data[f].to_numpy(dtype=float, na_value=np.nan) for f in features]) \
        if features else np.empty((len(table), 0))


def nonfinite_counts(X: np.ndarray, features: list[str]) -> dict[str, int]:
    """Per feature, how many rows hold NaN or +-inf (only features with some)."""
    counts = (~np.isfinite(X)).sum(axis=0)
    return {f: int(c) for f, c in zip(features, counts) if c}


def constant_features(X: np.ndarray, features: list[str]) -> list[str]:
    """Features whose finite values are all equal (or that have none)."""
    out = []
    for j, f in enumerate(features):
        col = X[:, j][np.isfinite(X[:, j])]
        if col.size == 0 or np.all(col == col[0]):
            out.append(f)
    return out


class Preprocessor:
    """Median imputation (optional) then standardisation, fitted on training rows.

    ``nan_policy='median'``: NaN/inf are replaced by the training medians.
    ``nan_policy='drop'``: rows must be finite already (the detector removes
    the others and gives them a NaN score).
    """

    def __init__(self, nan_policy: str = "drop") -> None:
        self.nan_policy = nan_policy
        self.median_: np.ndarray | None = None
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def _impute(self, X: np.ndarray) -> np.ndarray:
        if self.nan_policy != "median":
            return X
        bad = ~np.isfinite(X)
        if bad.any():
            X = np.where(bad, self.median_, X)
        return X

    def fit(self, X: np.ndarray) -> "Preprocessor":
        X = np.asarray(X, float)
        if self.nan_policy == "median":
            self.median_ = np.array([np.median(c[np.isfinite(c)]) if np.isfinite(c).any() else 0.0 for c in X.T])
        X = self._impute(X)
        self.mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        # a feature constant within one training fold (but not overall) must not divide by zero
        self.scale_ = np.where(scale > 0, scale, 1.0)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (self._impute(np.asarray(X, float)) - self.mean_) / self.scale_

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """Standardised rows back to the features' own units (imputation is not undone: it has no inverse)."""
        return np.asarray(Z, float) * self.scale_ + self.mean_

    def get_state(self) -> dict:
        arrays = {"mean": self.mean_, "scale": self.scale_}
        if self.median_ is not None:
            arrays["median"] = self.median_
        return {"params": {"nan_policy": self.nan_policy}, "arrays": arrays}

    @classmethod
    def from_state(cls, state: dict) -> "Preprocessor":
        pre = cls(state["params"]["nan_policy"])
        arrays = state["arrays"]
        pre.mean_, pre.scale_ = arrays["mean"], arrays["scale"]
        pre.median_ = arrays.get("median")
        return pre
