"""Astronomaly-style relevance regression (Lochner & Bassett 2021, Astronomy and Computing 36, 100481).

A random-forest regression learns the astronomer's relevance (interesting 1, known 0.5, boring
or artefact 0) from the labelled stars' features and predicts it for every star. The
unsupervised score is then modulated where the prediction can be trusted, as Astronomaly's
``NeighbourScore`` does::

    S' = S * tanh(exp(d / d0) - 1 + arctanh(f_u)),   f_u = 0.1 + 0.89 * U

with ``U`` the predicted relevance, ``d`` the distance (standardised features) to the nearest
labelled star and ``d0`` = ``alpha`` (3) x its median over all stars: close to labelled stars the
prediction rules (boring neighbours sink to 0.1 S), far from them the score stays S. ``S`` is
the unsupervised score's percentile rank (0-1), robust to the heavy tail of reconstruction errors.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

CITATION = ("Lochner, M. & Bassett, B. A. 2021, Astronomy and Computing 36, 100481 "
            "(Astronomaly: personalised active anomaly detection in astronomical data)")


def percentile_rank(score: np.ndarray) -> np.ndarray:
    """Scores -> (0, 1] by rank; NaN stays NaN."""
    score = np.asarray(score, float)
    out = np.full(len(score), np.nan)
    ok = np.isfinite(score)
    if ok.any():
        order = np.argsort(np.argsort(score[ok], kind="stable"), kind="stable")
        out[ok] = (order + 1) / ok.sum()
    return out


def standardise(X: np.ndarray) -> np.ndarray:
    """Median-imputed, robustly scaled features (median / 1.4826 MAD; std where the MAD is 0)."""
    X = np.array(X, float)
    med = np.nanmedian(X, axis=0)
    med = np.where(np.isfinite(med), med, 0.0)
    bad = ~np.isfinite(X)
    if bad.any():
        X[bad] = np.take(med, np.nonzero(bad)[1])
    mad = 1.4826 * np.median(np.abs(X - med), axis=0)
    std = X.std(axis=0)
    scale = np.where(mad > 0, mad, np.where(std > 0, std, 1.0))
    return (X - med) / scale


def relevance_rerank(X: np.ndarray, score: np.ndarray, labelled: np.ndarray, relevance: np.ndarray, *,
                     alpha: float = 3.0, n_estimators: int = 100, seed: int = 0, Z: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """New scores (higher = more worth a look) and the predicted relevance of every row.

    ``X``: (rows, features); ``score``: unsupervised score (higher = more anomalous);
    ``labelled``: row positions of the labelled stars; ``relevance``: their relevance in [0, 1].
    ``Z`` (optional): ``standardise(X)`` computed once by the caller. Without labels, or while
    every label gives the same answer (nothing to tell apart yet), unlabelled rows keep the
    unsupervised order. Labelled rows: interesting ones first, the others last.
    """
    from sklearn.ensemble import RandomForestRegressor

    S = percentile_rank(score)
    labelled = np.asarray(labelled, int)
    relevance = np.clip(np.asarray(relevance, float), 0.0, 1.0)
    new, U = S.copy(), np.full(len(S), np.nan)
    if len(labelled) and relevance.min() < relevance.max():
        Z = standardise(X) if Z is None else Z
        rf = RandomForestRegressor(n_estimators=n_estimators, min_samples_leaf=2, random_state=seed, n_jobs=1)
        rf.fit(Z[labelled], relevance)
        U = rf.predict(Z)
        d, _ = cKDTree(Z[labelled]).query(Z, k=1)
        d0 = alpha * max(float(np.median(d)), 1e-12)
        f_u = 0.1 + 0.89 * U      # Astronomaly: 0.1 + 0.85 U/5; 0.89 lets a sure "interesting" keep S
        new = S * np.tanh(np.exp(d / d0) - 1.0 + np.arctanh(f_u))
    if len(labelled):
        # a labelled star's answer is known, not predicted: interesting ones stay on top, others sink
        new[labelled] = np.where(relevance > 0.5, 2.0 + S[labelled], relevance * S[labelled])
    return new, U
