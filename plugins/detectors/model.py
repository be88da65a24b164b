"""A fitted model: feature list + preprocessor (imputation, scaling) + estimator.

This is the unit that is trained per fold, saved in the run folder and loaded
by ``toolkit score``; scoring (and reconstruction, for estimators that have
one) goes chunk by chunk to bound memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .estimator import Estimator
from .preprocess import Preprocessor

DEFAULT_CHUNK_ROWS = 65_536


@dataclass
class FittedModel:
    features: list[str]
    preprocessor: Preprocessor
    estimator: Estimator
    n_train: int = 0
    meta: dict = field(default_factory=dict)

    @classmethod
    def fit(cls, X: np.ndarray, features: list[str], estimator: Estimator, *, nan_policy: str, seed: int,
            advance: Callable = lambda n=1: None) -> "FittedModel":
        """Fit the preprocessor on ``X`` (training rows only), then the estimator on the scaled rows."""
        pre = Preprocessor(nan_policy).fit(X)
        estimator.fit(pre.transform(X), seed=seed, advance=advance)
        return cls(list(features), pre, estimator, n_train=len(X))

    def score(self, X: np.ndarray, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> np.ndarray:
        """Scores for the rows of ``X`` (NaN where a row has NaN/inf and nothing imputes it)."""
        return self._per_chunk(self.estimator.score_samples, X, chunk_rows, np.full(len(X), np.nan))

    def reconstruct(self, X: np.ndarray, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> np.ndarray:
        """The estimator's reconstruction of the rows of ``X``, in the features' own units.

        Rows with NaN/inf that nothing imputes come back as NaN; imputed inputs are
        reconstructed from the training median. Only for estimators with ``reconstruct``.
        """
        if not hasattr(self.estimator, "reconstruct"):
            raise TypeError(f"estimator {type(self.estimator).__name__} has no reconstruction")
        return self._per_chunk(lambda Z: self.preprocessor.inverse_transform(self.estimator.reconstruct(Z)),
                               X, chunk_rows, np.full(np.shape(X), np.nan))

    def _per_chunk(self, fn, X: np.ndarray, chunk_rows: int, out: np.ndarray) -> np.ndarray:
        """Preprocess ``X`` chunk by chunk and write ``fn(finite preprocessed rows)`` into those rows of ``out``."""
        X = np.asarray(X, float)
        for start in range(0, len(X), chunk_rows):
            block = self.preprocessor.transform(X[start:start + chunk_rows])
            ok = np.isfinite(block).all(axis=1)
            if ok.any():
                out[start:start + chunk_rows][ok] = fn(block[ok])
        return out
