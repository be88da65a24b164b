"""Re-ranking with labels: one entry point for the detectors, the review page and the benchmark."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .active_forest import active_forest_rerank, forest_features
from .labels import labelled_relevance
from .relevance import relevance_rerank, standardise

METHODS = ("relevance", "active_forest")


class Reranker:
    """Features prepared once (standardised, plus the forest's matrix) for repeated re-ranks of one table."""

    def __init__(self, X: np.ndarray, base_score: np.ndarray, *, seed: int = 0, budget: int = 340) -> None:
        self.X = np.asarray(X, float)
        self.base = np.asarray(base_score, float)
        self.seed, self.budget = int(seed), int(budget)
        self._Z = None
        self._F = None

    def rerank(self, method: str, rows: np.ndarray, relevance: np.ndarray) -> np.ndarray:
        """New scores for every row (higher = look first) from labelled ``rows`` with ``relevance``."""
        if method == "relevance":
            if self._Z is None:
                self._Z = standardise(self.X)
            score, _ = relevance_rerank(self.X, self.base, rows, relevance, seed=self.seed, Z=self._Z)
            return score
        if method == "active_forest":
            if self._F is None:
                self._F = forest_features(self.X, self.base)
            return active_forest_rerank(self.X, self.base, rows, relevance, budget=self.budget, seed=self.seed,
                                        Z=self._F)
        raise ValueError(f"unknown re-rank method {method!r}; choose {', '.join(METHODS)}")


def match_labels(ids: np.ndarray, labels: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, int]:
    """Row positions and relevance of the labelled stars found in ``ids``; the used rows; how many were not found."""
    lab = labelled_relevance(labels)
    key = pd.Index(pd.Series(ids).astype(str))
    pos = key.get_indexer(lab["id"].astype(str))
    found = pos >= 0
    used = lab[found]
    return pos[found].astype(int), used["relevance"].to_numpy(float), used, int((~found).sum())
