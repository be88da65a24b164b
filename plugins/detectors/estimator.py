"""The estimator shape every detector model follows (scikit-learn-like, higher = more anomalous).

``fit(X, seed=...)`` learns from standardised, finite rows; ``score_samples(X)``
is pure (same rows, same scores, any chunking of the rows) and returns higher
values for more anomalous rows -- the opposite sign of scikit-learn's own
``score_samples`` for IsolationForest/LOF, on purpose, so that every score in
the toolkit reads the same way. ``get_state``/``from_state`` make the fitted
state explicit: JSON-able ``params``, numpy ``arrays`` and, only for
third-party models that have no array form, picklable ``objects``.
"""

from __future__ import annotations

from typing import Callable, ClassVar

import numpy as np


class Estimator:
    #: key stored in a saved model folder to rebuild the estimator
    kind: ClassVar[str] = ""

    history: dict | None = None

    @property
    def min_rows(self) -> int:
        """Fewest training rows this estimator can learn from."""
        return 2

    def fit(self, X: np.ndarray, *, seed: int, advance: Callable = lambda n=1: None) -> "Estimator":
        raise NotImplementedError

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def get_state(self) -> dict:
        """``{"params": {...JSON}, "arrays": {name: ndarray}, "objects": {name: picklable}}``."""
        raise NotImplementedError

    @classmethod
    def from_state(cls, state: dict) -> "Estimator":
        raise NotImplementedError

    def versions(self) -> dict[str, str]:
        """Versions of the libraries the fitted state depends on."""
        return {}
